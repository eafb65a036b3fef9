/**
 * One setting a satellite reports in its status but forgets when it
 * restarts (it starts again at its config's value): its playback volume,
 * its wake threshold. The hub keeps the value each satellite last reported
 * in a JSON file under hub.stateDir (`{"<satellite>": value}`, written whole
 * under another name, then renamed) and, when a satellite comes online
 * reporting another value (its first online status since it or the hub
 * started: it restarted), sends it the kept one with the setting's command.
 * A value set any way at all (an intent, Home Assistant, an automation's
 * command) is kept the same way: from the status that reports it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandPayload } from '../../common/protocol';
import type { HubContext } from '../feature';

export interface KeptSettingSpec {
  /** What it is, for the logs: "volume". */
  label: string;
  /** The file's name under hub.stateDir. */
  file: string;
  /** The satellite status field that reports it. */
  field: 'volume' | 'wakeThreshold';
  /** The command that sets it on the satellite. */
  command: (value: number) => CommandPayload;
}

export class KeptSetting {
  readonly file: string;
  private values: Record<string, number> = {};
  /** Satellites whose first online status since they (or the hub) started was seen. */
  private readonly seen = new Set<string>();

  constructor(
    private readonly ctx: HubContext,
    private readonly spec: KeptSettingSpec,
  ) {
    this.file = path.join(ctx.config.hub.stateDir, spec.file);
  }

  /** Reads the file (at start); an unreadable one is logged and the satellites keep the values they start with. */
  load(): void {
    try {
      if (!fs.existsSync(this.file)) return;
      const o = JSON.parse(fs.readFileSync(this.file, 'utf8')) as unknown;
      if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error('not a JSON object');
      this.values = Object.fromEntries(Object.entries(o).filter((e): e is [string, number] => typeof e[1] === 'number'));
    } catch (err) {
      this.ctx.log.error({ code: 'VOICE_INTERNAL', err, file: this.file }, `${this.spec.label} file unreadable: satellites keep the ${this.spec.label} they start with`);
    }
  }

  /** The value kept for a satellite. */
  get(satellite: string): number | undefined {
    return this.values[satellite];
  }

  /** Sends the satellite the command that sets the value (its status then reports it, and it is kept). */
  send(satellite: string, value: number): void {
    this.ctx.log.info({ satellite, [this.spec.field]: value }, `satellite ${this.spec.label}`);
    this.ctx.mqtt.publish(this.ctx.topics.command(satellite), JSON.stringify(this.spec.command(value)), { qos: 1 });
  }

  /** A satellite's status (parsed, not empty). */
  status(satellite: string, o: Record<string, unknown>): void {
    if (o.state !== 'online') {
      this.seen.delete(satellite);
      return;
    }
    const value = o[this.spec.field];
    if (typeof value !== 'number') return;
    const kept = this.values[satellite];
    if (!this.seen.has(satellite)) {
      this.seen.add(satellite);
      // Back online with another value than it had: it restarted (at its config's), and gets its own back.
      if (kept !== undefined && kept !== value) return this.send(satellite, kept);
    }
    if (kept === value) return;
    this.values[satellite] = value;
    this.write();
  }

  private write(): void {
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      const tmp = `${this.file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, `${JSON.stringify(this.values)}\n`, { mode: 0o600 });
      fs.renameSync(tmp, this.file);
    } catch (err) {
      this.ctx.log.error({ code: 'VOICE_INTERNAL', err, file: this.file }, `${this.spec.label} file not written`);
    }
  }
}
