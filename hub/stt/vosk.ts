/**
 * Vosk (Kaldi) through koffi, with the C signatures of the `vosk-koffi`
 * package. vosk-koffi loads its library at require time from a fixed place
 * and throws if its download failed; we bind the same functions ourselves
 * so the library path is configurable (stt.vosk.library; an arm64 Pi needs
 * its own libvosk.so) and every failure is a coded error, never a crash.
 * `new Model(badPath)` in libvosk returns NULL, and a recognizer on NULL
 * segfaults: the model directory and the handle are both checked first.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KoffiFunction } from 'koffi';
import { VoiceError } from '../../common/errors';
import { type AcceptResult, type FinalResult, type Recognizer, type SttEngine, type SttSettings, textOf, type Word } from './engine';

interface VoskApi {
  vosk_set_log_level: KoffiFunction;
  vosk_model_new: KoffiFunction;
  vosk_model_free: KoffiFunction;
  vosk_recognizer_new: KoffiFunction;
  vosk_recognizer_free: KoffiFunction;
  vosk_recognizer_set_words: KoffiFunction;
  vosk_recognizer_set_partial_words: KoffiFunction;
  vosk_recognizer_accept_waveform: KoffiFunction;
  vosk_recognizer_final_result: KoffiFunction;
  vosk_recognizer_partial_result: KoffiFunction;
}

/** Where vosk-koffi's postinstall puts libvosk (and where scripts/install-libvosk.sh copies it). */
export function defaultVoskLibrary(): string {
  // vosk-koffi exports only its entry (lib/index.js); resolving does not run it.
  const dir = path.dirname(path.dirname(require.resolve('vosk-koffi')));
  const file = process.platform === 'darwin' ? 'libvosk.dylib' : process.platform === 'win32' ? 'libvosk.dll' : 'libvosk.so';
  return path.join(dir, `bin-${process.platform}-${process.arch}`, file);
}

/** True when `dir` looks like an unpacked Vosk model (am/ and conf/ or graph/). */
export function looksLikeVoskModel(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory() && fs.existsSync(path.join(dir, 'am')) && (fs.existsSync(path.join(dir, 'conf')) || fs.existsSync(path.join(dir, 'graph')));
  } catch {
    return false;
  }
}

function loadApi(library: string): VoskApi {
  const lib = library || defaultVoskLibrary();
  if (!fs.existsSync(lib)) {
    throw new VoiceError('VOICE_STT_LIBRARY_MISSING', `libvosk not found at ${lib}; run scripts/install-libvosk.sh (x86_64) or set stt.vosk.library to your libvosk.so`, { path: lib });
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffi = require('koffi') as typeof import('koffi');
  try {
    const l = koffi.load(lib);
    koffi.opaque('VoskModel');
    koffi.opaque('VoskRecognizer');
    return {
      vosk_set_log_level: l.func('void vosk_set_log_level(int log_level)'),
      vosk_model_new: l.func('VoskModel *vosk_model_new(const char *model_path)'),
      vosk_model_free: l.func('void vosk_model_free(VoskModel *model)'),
      vosk_recognizer_new: l.func('VoskRecognizer *vosk_recognizer_new(VoskModel *model, float sample_rate)'),
      vosk_recognizer_free: l.func('void vosk_recognizer_free(VoskRecognizer *recognizer)'),
      vosk_recognizer_set_words: l.func('void vosk_recognizer_set_words(VoskRecognizer *recognizer, int words)'),
      vosk_recognizer_set_partial_words: l.func('void vosk_recognizer_set_partial_words(VoskRecognizer *recognizer, int partial_words)'),
      vosk_recognizer_accept_waveform: l.func('int vosk_recognizer_accept_waveform(VoskRecognizer *recognizer, const char *data, int length)'),
      vosk_recognizer_final_result: l.func('const char *vosk_recognizer_final_result(VoskRecognizer *recognizer)'),
      vosk_recognizer_partial_result: l.func('const char *vosk_recognizer_partial_result(VoskRecognizer *recognizer)'),
    };
  } catch (err) {
    throw new VoiceError('VOICE_STT_LIBRARY_MISSING', `libvosk at ${lib} could not be loaded: ${(err as Error).message}`, { path: lib }, { cause: err });
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
    const endpoint = this.api.vosk_recognizer_accept_waveform(this.handle, bytes, bytes.length) === 1;
    if (endpoint) {
      // Vosk finished an utterance: keep its words, the recognizer continues with the next one.
      this.take(this.api.vosk_recognizer_final_result(this.handle) as string);
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

export class VoskEngine implements SttEngine {
  readonly name = 'vosk';
  private api: VoskApi | null = null;
  private model: unknown = null;

  constructor(private readonly settings: SttSettings['vosk']) {}

  load(): void {
    const dir = path.resolve(this.settings.model);
    if (!looksLikeVoskModel(dir)) {
      throw new VoiceError('VOICE_STT_MODEL_MISSING', `no Vosk model at ${dir} (expected am/ and conf/ inside); see models/README.md or run npm run models`, { path: dir });
    }
    this.api = loadApi(this.settings.library);
    this.api.vosk_set_log_level(-1);
    this.model = this.api.vosk_model_new(dir);
    if (!this.model) throw new VoiceError('VOICE_STT_MODEL_INVALID', `libvosk could not load the model at ${dir}; it is corrupt or not a Vosk model`, { path: dir });
  }

  createRecognizer(): Recognizer {
    if (!this.api || !this.model) throw new VoiceError('VOICE_STT_FAILED', 'Vosk engine not loaded');
    return new VoskRecognizer(this.api, this.model);
  }

  unload(): void {
    if (this.api && this.model) this.api.vosk_model_free(this.model);
    this.model = null;
  }
}
