/**
 * One session's decoding in an STT worker: a Recognizer plus what it takes
 * to keep the wake word out of the command's decode.
 *
 * The pre-roll carries the wake word into the recognizer. Its words are
 * dropped from transcripts afterwards (hub/sessions/wake-trim.ts), but they
 * also bend the command's first words: the language model continues from
 * "jarvis" (or from the "it's" a fragment of it became), not from the start
 * of a sentence. So when the speaker paused after the wake word, the decoder
 * starts over: once the recognizer has heard `RESTART_QUIET_MS` past the
 * wake word's last word (everything it heard ends by wakeMs + margin) without
 * a new word, a fresh recognizer decodes the session's audio again from just
 * after that word. A speaker who runs the command on gets no restart; the
 * trim then does the work. Word times are always from the session's first
 * sample.
 */
import type { AcceptResult, FinalResult, Recognizer, Word } from './engine';

/** Decoded audio past the wake word's last word, without a new word, that makes a restart. */
export const RESTART_QUIET_MS = 300;
/** The restarted decode begins this long after the wake word's last word ends. */
export const RESTART_AFTER_MS = 30;
const SAMPLES_PER_MS = 16;

export interface WakeInfo {
  /** Where the wake word fired, ms from the session's first sample. */
  wakeMs: number;
  /** session.wakeMarginMs. */
  marginMs: number;
}

export class SessionDecoder {
  private rec: Recognizer;
  /** Where the current recognizer's first sample lies in the session, ms. */
  private offsetMs = 0;
  private chunks: Int16Array[] = [];
  private heardMs = 0;
  private wake: WakeInfo | undefined;
  private restarted = false;

  constructor(private readonly create: () => Recognizer) {
    this.rec = create();
  }

  /** Where the wake word fired (audio/start); sessions without one never restart. */
  setWake(w: WakeInfo): void {
    this.wake = w;
  }

  get restartedAtMs(): number | undefined {
    return this.restarted ? this.offsetMs : undefined;
  }

  accept(pcm: Int16Array): AcceptResult {
    if (!this.restarted) this.chunks.push(pcm);
    this.heardMs += pcm.length / SAMPLES_PER_MS;
    const r = this.shift(this.rec.accept(pcm));
    const from = this.restartPoint(r.words);
    if (from === undefined) return r;
    return this.restart(from);
  }

  final(): FinalResult {
    const f = this.rec.final();
    return { ...f, words: this.timed(f.words) };
  }

  free(): void {
    this.rec.free();
    this.chunks = [];
  }

  /** Where to start over, or undefined while the speaker may still be saying the wake word or has gone on to the command. */
  private restartPoint(words: Word[]): number | undefined {
    const w = this.wake;
    if (!w || this.restarted) return undefined;
    const cut = w.wakeMs + w.marginMs;
    // A word of the command (or an engine without word times): no restart while it stands.
    if (words.some((x) => x.endMs === undefined || x.endMs > cut)) return undefined;
    const last = Math.max(w.wakeMs, ...words.map((x) => x.endMs as number));
    return this.heardMs - last >= RESTART_QUIET_MS ? last + RESTART_AFTER_MS : undefined;
  }

  private restart(fromMs: number): AcceptResult {
    this.rec.free();
    this.rec = this.create();
    this.restarted = true;
    this.offsetMs = fromMs;
    const audio = concat(this.chunks);
    this.chunks = [];
    let r: AcceptResult = { partial: '', endpoint: false, words: [] };
    const first = Math.round(fromMs * SAMPLES_PER_MS);
    for (let i = first; i < audio.length; i += 1280) r = this.rec.accept(audio.subarray(i, Math.min(audio.length, i + 1280)));
    return { ...this.shift(r), endpoint: false };
  }

  private shift(r: AcceptResult): AcceptResult {
    return { ...r, words: this.timed(r.words) };
  }

  private timed(words: Word[]): Word[] {
    if (this.offsetMs === 0) return words;
    const o = this.offsetMs;
    return words.map((x) => ({ word: x.word, startMs: x.startMs === undefined ? undefined : x.startMs + o, endMs: x.endMs === undefined ? undefined : x.endMs + o }));
  }
}

function concat(chunks: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
