/**
 * The satellites' playback volume (docs/intents.md, "Volume"): the hub
 * answers VoiceSetVolume, VoiceVolumeUp and VoiceVolumeDown itself by
 * sending the satellite a `volume` command (the satellite applies it in its
 * player and reports it in its status). The volume each satellite last
 * reported is kept, and sent back to a satellite that restarts, by
 * hub/kept (hub.stateDir/volumes.json).
 */
import type { IntentPayload } from '../../common/intent';
import type { Feature, HubContext, TopicHandlers } from '../feature';
import type { BuiltinAnswer } from '../intents/builtins';
import type { Intents } from '../intents/feature';
import type { KeptSetting } from '../kept/setting';

/** "Louder" and "quieter" move the volume this much (of 100). */
export const VOLUME_STEP = 20;

export class Volume implements Feature {
  readonly name = 'volume';
  readonly subscriptions: string[] = [];
  readonly handlers: TopicHandlers = {};

  constructor(
    private readonly ctx: HubContext,
    intents: Intents,
    /** The kept volumes (hub/kept): what a satellite had, and how to send it one. */
    private readonly kept: KeptSetting,
  ) {
    intents.answer('VoiceSetVolume', (i) => this.set(i, Number(i.slots.volume?.value)));
    intents.answer('VoiceVolumeUp', (i) => this.set(i, this.current(i.satellite) + VOLUME_STEP));
    // "Quieter" never goes silent (the answer, and timers, would not be heard): 0 is only set on purpose.
    intents.answer('VoiceVolumeDown', (i) => this.set(i, Math.max(Math.min(VOLUME_STEP, this.current(i.satellite)), this.current(i.satellite) - VOLUME_STEP)));
  }

  private current(satellite: string): number {
    return this.ctx.registry.get(satellite)?.volume ?? this.kept.get(satellite) ?? 100;
  }

  private set(i: IntentPayload, to: number): BuiltinAnswer {
    const volume = Math.max(0, Math.min(100, Math.round(Number.isFinite(to) ? to : 100)));
    this.kept.send(i.satellite, volume);
    return { vars: { volume: String(volume) } };
  }
}
