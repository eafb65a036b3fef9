/**
 * What one session says on its transcript topics. Partials are held until
 * audio/start says where the wake word fired (or until a client that sends no
 * audio/start has streamed a while), trimmed of the wake word's words
 * (wake-trim.ts), deduplicated and throttled to one per
 * `session.partialIntervalMs`. The final transcript is trimmed the same way
 * and carries the kept words with their times.
 */
import { type FinalReason, now, type TranscriptPayload } from '../../common/protocol';
import { textOf, type Word } from '../stt/engine';
import { afterWake, wakePhrase } from './wake-trim';

/** Who and where, for every transcript payload of a session. */
export interface TranscriptSource {
  sessionId: string;
  satellite: string;
  room: string;
  engine: string;
  /** Date.now() at the wake. */
  wakeAt: number;
  /** The wake message's wakeWord (the model's name). */
  wakeWord: string;
  /** Audio received in the session so far, ms. */
  audioMs: () => number;
}

export class SessionTranscripts {
  /** Where the wake word fired, ms into the stream (audio/start); undefined without one. */
  wakeMs: number | undefined;
  /** The wake word's words, from its model's name (wake-trim.ts). */
  private readonly phrase: string[];
  private started = false;
  /** The newest partial from the engine, untrimmed, held while audio/start has not arrived. */
  private held: Word[] | undefined;
  private last = '';
  private lastAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: TranscriptSource,
    private readonly settings: { wakeMarginMs: number; partialIntervalMs: number },
    /** Publishes a partial payload. */
    private readonly publish: (payload: TranscriptPayload) => void,
  ) {
    this.phrase = wakePhrase(source.wakeWord);
  }

  /**
   * The engine's newest partial: its text without the wake word's words, or
   * undefined while partials are held. Call offer() to publish the text.
   */
  heard(words: Word[]): string | undefined {
    if (!this.started) {
      this.held = words;
      return undefined;
    }
    return textOf(afterWake(words, this.wakeMs, this.settings.wakeMarginMs, this.phrase).kept);
  }

  /** Partials flow from now on; returns the held partial's text, if there was one. */
  release(): string | undefined {
    if (this.started) return undefined;
    this.started = true;
    const held = this.held;
    this.held = undefined;
    return held ? this.heard(held) : undefined;
  }

  /** The words' text without the wake word's words (as far as audio/start has said where it fired). */
  afterWake(words: Word[]): string {
    return textOf(afterWake(words, this.wakeMs, this.settings.wakeMarginMs, this.phrase).kept);
  }

  /** Publishes the text as a partial, at most one per partialIntervalMs; repeats and empty text are not published. */
  offer(text: string): void {
    if (text === this.last || text === '') return;
    const wait = this.lastAt + this.settings.partialIntervalMs - Date.now();
    this.last = text;
    const send = () => {
      this.clear();
      this.lastAt = Date.now();
      this.publish(this.payload(this.last, false));
    };
    if (wait <= 0) send();
    else this.timer ??= setTimeout(send, wait);
  }

  /** Drops a partial waiting for its interval. */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The final transcript, and the words dropped as the wake word's. */
  final(words: Word[], reason: FinalReason, confidence: number | undefined): { payload: TranscriptPayload; dropped: Word[] } {
    this.clear();
    const { kept, dropped } = afterWake(words, this.wakeMs, this.settings.wakeMarginMs, this.phrase);
    const payload = this.payload(textOf(kept), true, { reason, confidence });
    if (kept.every((w) => w.startMs !== undefined && w.endMs !== undefined)) {
      payload.words = kept.map((w) => ({ word: w.word, startMs: Math.round(w.startMs as number), endMs: Math.round(w.endMs as number) }));
    }
    return { payload, dropped };
  }

  private payload(text: string, final: boolean, extra: Pick<TranscriptPayload, 'reason' | 'confidence'> = {}): TranscriptPayload {
    const s = this.source;
    const timings = { audioMs: Math.round(s.audioMs()), sinceWakeMs: Date.now() - s.wakeAt };
    return { sessionId: s.sessionId, satellite: s.satellite, room: s.room, text, final, engine: s.engine, ...extra, time: now(), timings };
  }
}
