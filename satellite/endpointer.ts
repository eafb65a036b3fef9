/**
 * Endpointing of one session, on audio time (ms of audio streamed, pre-roll
 * included), so it needs no clock: Silero VAD probabilities in, a stop reason
 * out. Speech starts at `threshold` and, once started, continues down to
 * `threshold - HYSTERESIS`. The session ends after `silenceMs` of silence
 * following speech (silence), `noSpeechMs` of audio without speech after the
 * wake word (no-speech) or `maxUtteranceMs` of audio after the pre-roll
 * (max-length).
 *
 * The wake word is not the command. Speech in the pre-roll never counts, and
 * when a wake word opened the session (`wakeMs` set), neither does the rest of
 * the wake word streamed after the detector fired: the wake word lasts until
 * the VAD's first `wakeGapMs` of silence after the fire point, or at most
 * `wakeTailMaxMs` after it (a speaker who runs the command on without a pause).
 * So a pause after the wake word, of any length up to `noSpeechMs`, never ends
 * the session.
 */
import type { StopReason } from '../common/protocol';

export const HYSTERESIS = 0.15;

export interface EndpointSettings {
  threshold: number;
  silenceMs: number;
  maxUtteranceMs: number;
  /** Silence after the fire point that ends the wake word, ms. */
  wakeGapMs: number;
  /** The wake word ends at most this long after the fire point, ms. */
  wakeTailMaxMs: number;
}

export interface EndpointerStart {
  /** Audio sent before the live frames (the pre-roll), ms. */
  preRollMs: number;
  /** How long to wait for speech to start after the wake word (vad.noSpeechMs, or followUp.listenMs). */
  noSpeechMs: number;
  /** Where the wake word fired, ms from the first audio sent (the end of the pre-roll); absent without a wake word. */
  wakeMs?: number;
}

export class Endpointer {
  private sentMs: number;
  private inSpeech = false;
  private started = false;
  private lastSpeechMs = 0;
  /** Where the wake word ended; undefined while it is still being spoken. */
  private wakeEnd: number | undefined;
  /** Start of the current run of silence while the wake word lasts. */
  private quietFrom: number | undefined;

  constructor(
    private readonly settings: EndpointSettings,
    private readonly start: EndpointerStart,
  ) {
    this.sentMs = start.preRollMs;
    if (start.wakeMs === undefined) this.wakeEnd = start.preRollMs;
  }

  /** Audio sent so far, ms (pre-roll included). */
  get audioMs(): number {
    return this.sentMs;
  }

  get speechStarted(): boolean {
    return this.started;
  }

  /** End of the last speech window, ms from the first audio sent; undefined before speech. */
  get speechEndMs(): number | undefined {
    return this.started ? this.lastSpeechMs : undefined;
  }

  /** Where the wake word ended, ms from the first audio sent; undefined while it lasts or without a wake word. */
  get wakeEndMs(): number | undefined {
    return this.start.wakeMs === undefined ? undefined : this.wakeEnd;
  }

  /** Counts `ms` more audio as sent (published); returns where it starts, for `decide`. */
  sent(ms: number): number {
    const from = this.sentMs;
    this.sentMs += ms;
    return from;
  }

  /**
   * Takes the VAD probabilities of the audio sent at [from, from + ms) (spread
   * evenly over it). Returns why the session should end now, or null.
   */
  decide(from: number, ms: number, probs: readonly number[]): StopReason | null {
    const s = this.settings;
    const win = ms / probs.length;
    probs.forEach((p, i) => {
      const at = from + (i + 1) * win;
      if (this.wakeEnd === undefined && this.wakeLasts(at - win, at, p)) return;
      if (p >= s.threshold || (this.inSpeech && p >= s.threshold - HYSTERESIS)) {
        this.inSpeech = true;
        this.started = true;
        this.lastSpeechMs = at;
      } else {
        this.inSpeech = false;
      }
    });
    const spoken = this.sentMs - this.start.preRollMs;
    if (this.started && this.sentMs - this.lastSpeechMs >= s.silenceMs) return 'silence';
    if (spoken >= s.maxUtteranceMs) return 'max-length';
    const waited = this.sentMs - (this.wakeEnd ?? this.sentMs);
    if (!this.started && waited >= this.start.noSpeechMs) return 'no-speech';
    return null;
  }

  /** Follows the wake word's tail through the window [begin, at); true while the wake word lasts. */
  private wakeLasts(begin: number, at: number, p: number): boolean {
    const s = this.settings;
    if (p < s.threshold) {
      this.quietFrom ??= begin;
      if (at - this.quietFrom >= s.wakeGapMs) {
        this.wakeEnd = this.quietFrom;
        return false;
      }
    } else {
      this.quietFrom = undefined;
    }
    if (at - (this.start.wakeMs ?? 0) < s.wakeTailMaxMs) return true;
    // Still speaking long after the fire point: the command ran on from the wake word.
    this.wakeEnd = this.quietFrom ?? at;
    return false;
  }

  /** `sent` and `decide` in one step. */
  push(ms: number, probs: readonly number[]): StopReason | null {
    return this.decide(this.sent(ms), ms, probs);
  }
}
