/**
 * Endpointing of one session, on audio time (ms of audio streamed, pre-roll
 * included), so it needs no clock: Silero VAD probabilities in, a stop reason
 * out. Speech starts at `threshold` and, once started, continues down to
 * `threshold - HYSTERESIS`. Speech in the pre-roll (the tail of the wake word)
 * never counts. The session ends after `silenceMs` of silence following speech
 * (silence), `noSpeechMs` of audio without speech (no-speech) or
 * `maxUtteranceMs` of audio after the pre-roll (max-length).
 *
 * Extension point: everything the endpointer knows about the start of the
 * session comes in `EndpointerStart` (a later `wakeEndMs` goes there).
 */
import type { StopReason } from '../common/protocol';

export const HYSTERESIS = 0.15;

export interface EndpointSettings {
  threshold: number;
  silenceMs: number;
  maxUtteranceMs: number;
}

export interface EndpointerStart {
  /** Audio sent before the live frames (the pre-roll), ms. */
  preRollMs: number;
  /** How long to wait for speech to start after the pre-roll (vad.noSpeechMs, or followUp.listenMs). */
  noSpeechMs: number;
}

export class Endpointer {
  private sentMs: number;
  private inSpeech = false;
  private started = false;
  private lastSpeechMs = 0;

  constructor(
    private readonly settings: EndpointSettings,
    private readonly start: EndpointerStart,
  ) {
    this.sentMs = start.preRollMs;
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
    probs.forEach((p, i) => {
      const at = from + ((i + 1) * ms) / probs.length;
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
    if (!this.started && spoken >= this.start.noSpeechMs) return 'no-speech';
    return null;
  }

  /** `sent` and `decide` in one step. */
  push(ms: number, probs: readonly number[]): StopReason | null {
    return this.decide(this.sent(ms), ms, probs);
  }
}
