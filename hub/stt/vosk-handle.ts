/**
 * One libvosk recognizer handle and the words it has given so far. The
 * session's general recognizer and its grammar recognizer (the command
 * model) are each one of these, fed the same audio.
 *
 * libvosk endpoints mid-stream (accept_waveform returns 1 after speech and a
 * pause) and decodes on: there the utterance is taken with
 * vosk_recognizer_result, which finalises only the decoder's lattice and
 * keeps the feature pipeline and speaker adaptation (ivectors) running.
 * vosk_recognizer_final_result flushes and tears both down, so it is called
 * once, at the session's end. libvosk counts word times from the
 * recognizer's first sample across endpoints (recognizer.cc adds the frames
 * and samples decoded before), so each segment's words are taken as they
 * are, and the handle's words are every segment's, in order.
 */
import { VoiceError } from '../../common/errors';
import type { Word } from './engine';
import type { VoskApi } from './vosk-api';

/** A word of a Vosk result with set_words / set_partial_words on: times in seconds from the recognizer's first sample. */
interface VoskWord {
  word?: string;
  start?: number;
  end?: number;
  conf?: number;
}

const ms = (s: number | undefined) => (typeof s === 'number' ? Math.round(s * 1000) : undefined);

/** Vosk's timed words as ours; a result without them (an old libvosk) yields its text's words, untimed. */
function timed(words: VoskWord[] | undefined, text: string | undefined): Word[] {
  if (words && words.length > 0) return words.map((w) => ({ word: w.word ?? '', startMs: ms(w.start), endMs: ms(w.end) }));
  return (text ?? '').split(/\s+/).filter(Boolean).map((word) => ({ word }));
}

export class VoskHandle {
  /** Words of the utterances Vosk already finished (it endpoints and goes on). */
  private committed: Word[] = [];
  private confs: number[] = [];

  /** `handle`: a recognizer from vosk_recognizer_new or _new_grm, not NULL; this object frees it. */
  constructor(
    private readonly api: VoskApi,
    private handle: unknown,
  ) {
    api.vosk_recognizer_set_words(handle, 1);
    api.vosk_recognizer_set_partial_words(handle, 1);
  }

  /** Decodes `bytes` (s16le); the handle's words so far, and whether libvosk endpointed on them. */
  accept(bytes: Buffer): { endpoint: boolean; words: Word[] } {
    const rc = this.api.vosk_recognizer_accept_waveform(this.handle, bytes, bytes.length) as number;
    // -1: an exception inside libvosk (a Kaldi error); what the recognizer holds is not to be trusted.
    if (rc < 0) throw new VoiceError('VOICE_STT_FAILED', 'libvosk failed while decoding (vosk_recognizer_accept_waveform returned -1, an exception inside libvosk); the session is ended');
    if (rc === 1) {
      // Vosk finished an utterance: keep its words, the recognizer continues with the next one.
      this.take(this.api.vosk_recognizer_result(this.handle) as string);
      return { endpoint: true, words: [...this.committed] };
    }
    const p = JSON.parse((this.api.vosk_recognizer_partial_result(this.handle) as string) || '{}') as { partial?: string; partial_result?: VoskWord[] };
    return { endpoint: false, words: [...this.committed, ...timed(p.partial_result, p.partial)] };
  }

  /** Flushes libvosk (final_result): every word of the handle, and their mean confidence where libvosk gave one. */
  final(): { words: Word[]; confidence?: number } {
    this.take(this.api.vosk_recognizer_final_result(this.handle) as string);
    const confidence = this.confs.length ? this.confs.reduce((a, b) => a + b, 0) / this.confs.length : undefined;
    return { words: [...this.committed], confidence };
  }

  private take(json: string): void {
    const r = JSON.parse(json || '{}') as { text?: string; result?: VoskWord[] };
    this.committed.push(...timed(r.result, r.text));
    for (const w of r.result ?? []) if (typeof w.conf === 'number') this.confs.push(w.conf);
  }

  free(): void {
    if (!this.handle) return;
    this.api.vosk_recognizer_free(this.handle);
    this.handle = null;
  }
}
