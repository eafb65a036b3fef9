/**
 * Wake gating: whether a detection from the wake engine opens a session.
 * - muted: the engine does not even run.
 * - refractory: for `refractoryMs` after a session ends, detections are ignored.
 * - during playback, and for `playbackTailMs` after it (the microphone hears
 *   the last words late), `duringPlayback` applies: `pause` does not run the
 *   engine, `raise` needs `playbackThreshold` (a barge-in), `normal` does
 *   nothing special. An engine that cannot raise (Porcupine) pauses instead.
 * Time comes from the injected clock.
 */
import type { WakeDetection } from './engine';

export interface WakeGateSettings {
  refractoryMs: number;
  duringPlayback: 'raise' | 'pause' | 'normal';
  playbackTailMs: number;
  playbackThreshold: number;
}

export interface WakeGateContext {
  settings: WakeGateSettings;
  /** Whether the engine's score can be compared with playbackThreshold (openWakeWord yes, Porcupine no). */
  canRaise: boolean;
  now: () => number;
}

export type GateVerdict =
  | { wake: true; bargeIn: boolean }
  | { wake: false; why: 'refractory' | 'below-playback-threshold' };

export class WakeGate {
  private refractoryUntil = Number.NEGATIVE_INFINITY;
  private playbackEndedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly ctx: WakeGateContext) {}

  private get mode(): WakeGateSettings['duringPlayback'] {
    const m = this.ctx.settings.duringPlayback;
    return m === 'raise' && !this.ctx.canRaise ? 'pause' : m;
  }

  /** Playing now, or within the playback tail. */
  private duringPlayback(playing: boolean): boolean {
    return playing || this.ctx.now() < this.playbackEndedAt + this.ctx.settings.playbackTailMs;
  }

  /** Whether to run the wake engine on this frame at all. */
  shouldListen(muted: boolean, playing: boolean): boolean {
    if (muted) return false;
    return !(this.mode === 'pause' && this.duringPlayback(playing));
  }

  /** Whether a detection opens a session, and whether it cuts off playback. */
  judge(det: WakeDetection, playing: boolean): GateVerdict {
    if (this.ctx.now() < this.refractoryUntil) return { wake: false, why: 'refractory' };
    const during = this.duringPlayback(playing);
    if (during && this.mode === 'raise' && det.score < this.ctx.settings.playbackThreshold) return { wake: false, why: 'below-playback-threshold' };
    return { wake: true, bargeIn: during };
  }

  /** A session ended: the refractory period starts. */
  sessionEnded(): void {
    this.refractoryUntil = this.ctx.now() + this.ctx.settings.refractoryMs;
  }

  /** Playback ended: the playback tail starts. */
  playbackEnded(): void {
    this.playbackEndedAt = this.ctx.now();
  }
}
