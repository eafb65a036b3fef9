/**
 * One session's decoding in an STT worker: a Recognizer plus what it takes
 * to keep the wake word out of the command's decode.
 *
 * The pre-roll carries the wake word into the recognizer. Its words are
 * dropped from transcripts afterwards (hub/sessions/wake-trim.ts), but they
 * also bend the command's first words: the language model continues from
 * "jarvis" (or from the "it's" a fragment of it became), not from the start
 * of a sentence. So when the speaker paused after the wake word, the decoder
 * starts over: when the first word of the command appears (the first that
 * begins after the fire point and ends after wakeMs + margin) at least
 * `RESTART_GAP_MS` after the end of every word before it (the wake word's),
 * the recognizer decodes the session's audio again from `RESTART_LEAD_MS`
 * before that word, never before the wake word's end. It restarts itself
 * where it can (pocketsphinx then keeps the cepstral mean the session began
 * with: ps-cmn.ts); otherwise a new recognizer takes its place. A speaker who
 * runs the command on gets no restart; the trim then does the work. Word
 * times are always from the session's first sample.
 */
import type { AcceptResult, FinalResult, Recognizer, Word } from './engine';

/** A pause at least this long between the wake word's last decoded word and the command's first makes a restart. */
export const RESTART_GAP_MS = 250;
/** The restarted decode hears this much audio before the first word the old decode placed (word onsets such as "h" or "s" are placed late). */
export const RESTART_LEAD_MS = 500;
/** ... and starts at least this long after the wake word's last word ends. */
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
  private wake: WakeInfo | undefined;
  private restarted = false;
  /** Whether to restart has been decided (the command's first word appeared). */
  private decided = false;

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
    if (!this.decided) this.chunks.push(pcm);
    const r = this.shift(this.rec.accept(pcm));
    const from = this.restartPoint(r.words);
    if (from === undefined) return r;
    return this.restart(from);
  }

  final(): FinalResult {
    const f = this.rec.final();
    return { ...f, words: this.timed(f.words), commands: f.commands && this.timed(f.commands) };
  }

  free(): void {
    this.rec.free();
    this.chunks = [];
  }

  /** Where to start over, once: undefined until the command's first word appears, and when the speaker did not pause. */
  private restartPoint(words: Word[]): number | undefined {
    const w = this.wake;
    if (!w || this.decided) return undefined;
    const cut = w.wakeMs + w.marginMs;
    // The command's first word began after the fire point and ends after the cut. A word that began
    // before the fire point is the wake word's, or the wake word and the command run together.
    const at = words.findIndex((x) => x.startMs === undefined || x.endMs === undefined || (x.startMs >= w.wakeMs && x.endMs > cut));
    if (at < 0) return undefined;
    this.decided = true;
    const first = words[at];
    // The pause runs from the end of the wake word's last decoded word (from the fire point if none was decoded).
    const wakeEnd = at === 0 ? w.wakeMs : Math.max(...words.slice(0, at).map((x) => x.endMs ?? 0));
    if (first.startMs === undefined || first.startMs - wakeEnd < RESTART_GAP_MS) {
      this.chunks = [];
      return undefined;
    }
    return Math.max(wakeEnd + RESTART_AFTER_MS, first.startMs - RESTART_LEAD_MS);
  }

  private restart(fromMs: number): AcceptResult {
    if (this.rec.restart) this.rec.restart();
    else {
      this.rec.free();
      this.rec = this.create();
    }
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
    return { ...r, words: this.timed(r.words), commands: r.commands && this.timed(r.commands) };
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
