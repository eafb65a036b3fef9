/**
 * Per-satellite limits on the session path, so one satellite (broken,
 * hijacked, or driven by a listen-spamming client) cannot take the hub's
 * decoders from the others:
 *   wakes   at most session.maxWakesPerMinute sessions opened in any 60 s
 *           (sliding: the oldest admitted wake ages out);
 *   audio   at most session.maxAudioBytesPerSecond, averaged over
 *           AUDIO_WINDOW_S: a bucket of that many seconds' worth, refilled
 *           at the rate, so a burst (the pre-roll, frames held back during a
 *           broker outage) passes and only a sustained excess trips it.
 * The session manager asks before it opens a session and for every frame of
 * a live one, and acts on a no (refuses the wake, ends the session). Each
 * limit is reported (error topic and log) at most once per satellite per
 * REPORT_WINDOW_MS, with how many it refused since; the others are only
 * counted. Each satellite's state stays when it goes offline: reconnecting
 * does not reset its limits.
 */
import type { ErrorCode } from '../../common/errors';

export const WAKE_WINDOW_MS = 60_000;
export const AUDIO_WINDOW_S = 5;
export const REPORT_WINDOW_MS = 60_000;
/** Satellites whose state is kept before idle ones are forgotten. */
const PRUNE_ABOVE = 1024;

export interface LimitSettings {
  maxWakesPerMinute: number;
  maxAudioBytesPerSecond: number;
}

export interface LimitsContext {
  settings: LimitSettings;
  /** Publishes and logs a coded error for the satellite. */
  report: (satellite: string, code: ErrorCode, message: string, sessionId: string) => void;
  now?: () => number;
}

interface Reporting {
  at: number;
  /** Refusals since the last report, not reported one by one. */
  quiet: number;
}

interface Budget {
  wakes: number[];
  tokens: number;
  filledAt: number;
  seen: number;
  wakeReport: Reporting;
  audioReport: Reporting;
}

export class SessionLimits {
  private readonly sats = new Map<string, Budget>();
  private readonly now: () => number;

  constructor(private readonly ctx: LimitsContext) {
    this.now = ctx.now ?? Date.now;
  }

  private budget(satellite: string, t: number): Budget {
    let b = this.sats.get(satellite);
    if (!b) {
      if (this.sats.size >= PRUNE_ABOVE) this.prune(t);
      const never = { at: Number.NEGATIVE_INFINITY, quiet: 0 };
      b = { wakes: [], tokens: this.capacity, filledAt: t, seen: t, wakeReport: { ...never }, audioReport: { ...never } };
      this.sats.set(satellite, b);
    }
    b.seen = t;
    return b;
  }

  private get capacity(): number {
    return this.ctx.settings.maxAudioBytesPerSecond * AUDIO_WINDOW_S;
  }

  /** Forgets satellites whose every window has passed (their state would start afresh anyway). */
  private prune(t: number): void {
    const idle = Math.max(WAKE_WINDOW_MS, REPORT_WINDOW_MS, AUDIO_WINDOW_S * 1000);
    for (const [id, b] of this.sats) if (t - b.seen > idle) this.sats.delete(id);
  }

  /** Whether `satellite` may open session `sessionId` now; an admitted wake is counted. */
  admitWake(satellite: string, sessionId: string): boolean {
    const max = this.ctx.settings.maxWakesPerMinute;
    if (max === 0) return true;
    const t = this.now();
    const b = this.budget(satellite, t);
    while (b.wakes.length > 0 && b.wakes[0] <= t - WAKE_WINDOW_MS) b.wakes.shift();
    if (b.wakes.length < max) {
      b.wakes.push(t);
      return true;
    }
    const wait = Math.ceil((b.wakes[0] + WAKE_WINDOW_MS - t) / 1000);
    this.refused(satellite, sessionId, b.wakeReport, t, 'VOICE_WAKE_RATE_LIMITED', `satellite ${satellite} opened ${max} sessions in the last minute (session.maxWakesPerMinute); wake ${sessionId} refused, the next one is admitted in ${wait} s`);
    return false;
  }

  /** Counts `bytes` of audio from `satellite`; false when it goes over its rate (the caller ends the session). */
  admitAudio(satellite: string, sessionId: string, bytes: number): boolean {
    const rate = this.ctx.settings.maxAudioBytesPerSecond;
    if (rate === 0) return true;
    const t = this.now();
    const b = this.budget(satellite, t);
    b.tokens = Math.min(this.capacity, b.tokens + ((t - b.filledAt) * rate) / 1000);
    b.filledAt = t;
    if (b.tokens >= bytes) {
      b.tokens -= bytes;
      return true;
    }
    // Over: the session ends, and the next one starts from an empty bucket, refilled at the rate.
    b.tokens = 0;
    this.refused(satellite, sessionId, b.audioReport, t, 'VOICE_AUDIO_RATE_EXCEEDED', `satellite ${satellite} sent audio faster than ${rate} bytes/s over ${AUDIO_WINDOW_S} s (session.maxAudioBytesPerSecond); session ${sessionId} ended`);
    return false;
  }

  private refused(satellite: string, sessionId: string, r: Reporting, t: number, code: ErrorCode, message: string): void {
    if (t - r.at < REPORT_WINDOW_MS) {
      r.quiet++;
      return;
    }
    const since = r.quiet > 0 ? ` (${r.quiet} more refused since the last report)` : '';
    r.at = t;
    r.quiet = 0;
    this.ctx.report(satellite, code, `${message}${since}; reported at most once a minute`, sessionId);
  }
}
