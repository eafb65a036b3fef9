/**
 * The satellites' playback volume (docs/intents.md, "Volume"): the hub
 * answers VoiceSetVolume, VoiceVolumeUp and VoiceVolumeDown itself by
 * sending the satellite a `volume` command (the satellite applies it in its
 * player and reports it in its status). The volume each satellite last
 * reported is kept in hub.stateDir/volumes.json; a satellite that comes
 * online with another one (it restarted at playback.volume) is set back to
 * it. A volume an automation set with the command directly is kept the same
 * way, from the status.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { IntentPayload } from '../../common/intent';
import { type CommandPayload, parseJson } from '../../common/protocol';
import type { Feature, HubContext, TopicHandlers } from '../feature';
import type { BuiltinAnswer } from '../intents/builtins';
import type { Intents } from '../intents/feature';

/** "Louder" and "quieter" move the volume this much (of 100). */
export const VOLUME_STEP = 20;

export class Volume implements Feature {
  readonly name = 'volume';
  readonly subscriptions: string[];
  readonly handlers: TopicHandlers;
  private readonly file: string;
  private volumes: Record<string, number> = {};
  /** Satellites whose first online status since they (or the hub) started was seen. */
  private readonly seen = new Set<string>();

  constructor(
    private readonly ctx: HubContext,
    intents: Intents,
  ) {
    this.file = path.join(ctx.config.hub.stateDir, 'volumes.json');
    this.subscriptions = [ctx.topics.sub.allSatStatus];
    this.handlers = { satStatus: (t, payload, topic) => this.onStatus(t.satellite, payload, topic) };
    intents.answer('VoiceSetVolume', (i) => this.set(i, Number(i.slots.volume?.value)));
    intents.answer('VoiceVolumeUp', (i) => this.set(i, this.current(i.satellite) + VOLUME_STEP));
    // "Quieter" never goes silent (the answer, and timers, would not be heard): 0 is only set on purpose.
    intents.answer('VoiceVolumeDown', (i) => this.set(i, Math.max(Math.min(VOLUME_STEP, this.current(i.satellite)), this.current(i.satellite) - VOLUME_STEP)));
  }

  start(): void {
    try {
      if (fs.existsSync(this.file)) this.volumes = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Record<string, number>;
    } catch (err) {
      this.ctx.log.error({ code: 'VOICE_INTERNAL', err, file: this.file }, 'volumes file unreadable: satellites keep the volume they start with');
    }
  }

  private current(satellite: string): number {
    return this.ctx.registry.get(satellite)?.volume ?? this.volumes[satellite] ?? 100;
  }

  private set(i: IntentPayload, to: number): BuiltinAnswer {
    const volume = Math.max(0, Math.min(100, Math.round(Number.isFinite(to) ? to : 100)));
    this.send(i.satellite, volume);
    return { vars: { volume: String(volume) } };
  }

  private send(satellite: string, volume: number): void {
    const cmd: CommandPayload = { command: 'volume', volume };
    this.ctx.log.info({ satellite, volume }, 'satellite volume');
    this.ctx.mqtt.publish(this.ctx.topics.command(satellite), JSON.stringify(cmd), { qos: 1 });
  }

  private onStatus(satellite: string, payload: Buffer, topic: string): void {
    if (payload.length === 0) return;
    const o = parseJson(topic, payload);
    if (o.state !== 'online') {
      this.seen.delete(satellite);
      return;
    }
    if (typeof o.volume !== 'number') return;
    const kept = this.volumes[satellite];
    if (!this.seen.has(satellite)) {
      this.seen.add(satellite);
      // Back online at another volume than it had: it restarted (at playback.volume), and gets its own back.
      if (kept !== undefined && kept !== o.volume) return this.send(satellite, kept);
    }
    if (kept === o.volume) return;
    this.volumes[satellite] = o.volume;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      const tmp = `${this.file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, `${JSON.stringify(this.volumes)}\n`, { mode: 0o600 });
      fs.renameSync(tmp, this.file);
    } catch (err) {
      this.ctx.log.error({ code: 'VOICE_INTERNAL', err, file: this.file }, 'volumes file not written');
    }
  }
}
