/**
 * Vosk (Kaldi) speech to text; the C API is bound in vosk-api.ts.
 * libvosk returns NULL for a bad model, and a recognizer on NULL segfaults:
 * the model directory and the handle are both checked first.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VoiceError } from '../../common/errors';
import { type AcceptResult, type FinalResult, type Recognizer, type SharedModel, type SttEngine, type SttSettings, textOf, type Word } from './engine';
import { addressOf, loadVoskApi, type VoskApi } from './vosk-api';

export { defaultVoskLibrary } from './vosk-api';

/** True when `dir` looks like an unpacked Vosk model (am/ and conf/ or graph/). */
export function looksLikeVoskModel(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory() && fs.existsSync(path.join(dir, 'am')) && (fs.existsSync(path.join(dir, 'conf')) || fs.existsSync(path.join(dir, 'graph')));
  } catch {
    return false;
  }
}

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

/**
 * One session's recognizer. libvosk endpoints mid-stream (accept_waveform
 * returns 1 after speech and a pause) and decodes on: there the utterance is
 * taken with vosk_recognizer_result, which finalises only the decoder's
 * lattice and keeps the feature pipeline and speaker adaptation (ivectors)
 * running. vosk_recognizer_final_result flushes and tears both down, so it
 * is called once, at the session's end. libvosk counts word times from the
 * recognizer's first sample across endpoints (recognizer.cc adds the
 * frames and samples decoded before), so each segment's words are taken as
 * they are, and the session's words are every segment's, in order.
 */
class VoskRecognizer implements Recognizer {
  private handle: unknown;
  /** Words of the utterances Vosk already finished (it endpoints and goes on). */
  private committed: Word[] = [];
  private confs: number[] = [];

  constructor(
    private readonly api: VoskApi,
    model: unknown,
  ) {
    this.handle = api.vosk_recognizer_new(model, 16000);
    if (!this.handle) throw new VoiceError('VOICE_STT_FAILED', 'vosk_recognizer_new returned NULL');
    api.vosk_recognizer_set_words(this.handle, 1);
    api.vosk_recognizer_set_partial_words(this.handle, 1);
  }

  accept(pcm: Int16Array): AcceptResult {
    const bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    const rc = this.api.vosk_recognizer_accept_waveform(this.handle, bytes, bytes.length) as number;
    // -1: an exception inside libvosk (a Kaldi error); what the recognizer holds is not to be trusted.
    if (rc < 0) throw new VoiceError('VOICE_STT_FAILED', 'libvosk failed while decoding (vosk_recognizer_accept_waveform returned -1, an exception inside libvosk); the session is ended');
    const endpoint = rc === 1;
    if (endpoint) {
      // Vosk finished an utterance: keep its words, the recognizer continues with the next one.
      this.take(this.api.vosk_recognizer_result(this.handle) as string);
      return { partial: textOf(this.committed), endpoint: true, words: [...this.committed] };
    }
    const p = JSON.parse((this.api.vosk_recognizer_partial_result(this.handle) as string) || '{}') as { partial?: string; partial_result?: VoskWord[] };
    const words = [...this.committed, ...timed(p.partial_result, p.partial)];
    return { partial: textOf(words), endpoint: false, words };
  }

  private take(json: string): void {
    const r = JSON.parse(json || '{}') as { text?: string; result?: VoskWord[] };
    this.committed.push(...timed(r.result, r.text));
    for (const w of r.result ?? []) if (typeof w.conf === 'number') this.confs.push(w.conf);
  }

  final(): FinalResult {
    this.take(this.api.vosk_recognizer_final_result(this.handle) as string);
    const confidence = this.confs.length ? this.confs.reduce((a, b) => a + b, 0) / this.confs.length : undefined;
    return { text: textOf(this.committed), confidence, words: [...this.committed] };
  }

  free(): void {
    if (!this.handle) return;
    this.api.vosk_recognizer_free(this.handle);
    this.handle = null;
  }
}

/**
 * The engine in one worker thread. Its model is its own (loaded here), or the
 * pool's: one model for every worker of a process, passed as its address
 * (koffi takes a BigInt for a pointer argument) so vosk_model_new runs once
 * per pool. A model handed over with shareModel() or received is not freed
 * by unload(); freeSharedModel() frees it, in the pool's last worker.
 */
export class VoskEngine implements SttEngine {
  readonly name = 'vosk';
  private api: VoskApi | null = null;
  /** This engine's model (koffi's pointer), or the pool's shared one (its address). */
  private model: unknown = null;
  /** Whether unload() frees the model: only one this engine loaded and did not hand over. */
  private owned = false;

  constructor(
    private readonly settings: SttSettings['vosk'],
    private readonly shared?: SharedModel,
  ) {}

  load(): void {
    if (this.shared) {
      if (this.shared.engine !== this.name) throw new VoiceError('VOICE_STT_FAILED', `a ${this.shared.engine} model cannot be shared with the vosk engine`);
      this.api = loadVoskApi(this.settings.library);
      this.model = this.shared.address;
      return;
    }
    const dir = path.resolve(this.settings.model);
    if (!looksLikeVoskModel(dir)) {
      throw new VoiceError('VOICE_STT_MODEL_MISSING', `no Vosk model at ${dir} (expected am/ and conf/ inside); see models/README.md or run npm run models`, { path: dir });
    }
    this.api = loadVoskApi(this.settings.library);
    this.api.vosk_set_log_level(-1);
    this.model = this.api.vosk_model_new(dir);
    if (!this.model) throw new VoiceError('VOICE_STT_MODEL_INVALID', `libvosk could not load the model at ${dir}; it is corrupt or not a Vosk model`, { path: dir });
    this.owned = true;
  }

  createRecognizer(): Recognizer {
    if (!this.api || !this.model) throw new VoiceError('VOICE_STT_FAILED', 'Vosk engine not loaded');
    return new VoskRecognizer(this.api, this.model);
  }

  shareModel(): SharedModel {
    if (!this.api || !this.model) throw new VoiceError('VOICE_STT_FAILED', 'Vosk engine not loaded');
    this.owned = false;
    return { engine: this.name, address: addressOf(this.model) };
  }

  freeSharedModel(): void {
    if (this.api && this.model && !this.owned) this.api.vosk_model_free(this.model);
    this.model = null;
  }

  /** Frees the model if it is this engine's own; a shared one stays for freeSharedModel(). */
  unload(): void {
    if (!this.owned) return;
    if (this.api && this.model) this.api.vosk_model_free(this.model);
    this.model = null;
    this.owned = false;
  }
}
