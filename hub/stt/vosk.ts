/**
 * Vosk (Kaldi) speech to text; the C API is bound in vosk-api.ts.
 * libvosk returns NULL for a bad model, and a recognizer on NULL segfaults:
 * the model directory and the handle are both checked first.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VoiceError } from '../../common/errors';
import { type AcceptResult, type EngineNotice, type FinalResult, type Recognizer, type SharedModel, type SttEngine, type SttSettings, textOf, type Word } from './engine';
import { addressOf, loadVoskApi, type VoskApi } from './vosk-api';
import { VoskHandle } from './vosk-handle';

export { defaultVoskLibrary } from './vosk-api';

/** True when `dir` looks like an unpacked Vosk model (am/ and conf/ or graph/). */
export function looksLikeVoskModel(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory() && fs.existsSync(path.join(dir, 'am')) && (fs.existsSync(path.join(dir, 'conf')) || fs.existsSync(path.join(dir, 'graph')));
  } catch {
    return false;
  }
}

/** The handle of libvosk's Recognizer; where its grammar comes from, and what to do when it fails. */
interface CommandSource {
  make(): VoskHandle | undefined;
  failed(err: unknown): void;
}

/**
 * One session's recognizers: the general one, and beside it (when the engine
 * has the command model as a grammar) a grammar recognizer fed the same
 * audio, whose words are the result's `commands`. The grammar recognizer
 * failing only drops the command model from the session.
 */
class VoskRecognizer implements Recognizer {
  private readonly general: VoskHandle;
  private commands: VoskHandle | undefined;

  constructor(
    api: VoskApi,
    model: unknown,
    private readonly source?: CommandSource,
  ) {
    const handle: unknown = api.vosk_recognizer_new(model, 16000);
    if (!handle) throw new VoiceError('VOICE_STT_FAILED', 'vosk_recognizer_new returned NULL');
    this.general = new VoskHandle(api, handle);
    this.commands = source?.make();
  }

  accept(pcm: Int16Array): AcceptResult {
    const bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    const { endpoint, words } = this.general.accept(bytes);
    return { partial: textOf(words), endpoint, words, commands: this.command((c) => c.accept(bytes).words) };
  }

  final(): FinalResult {
    const { words, confidence } = this.general.final();
    return { text: textOf(words), confidence, words, commands: this.command((c) => c.final().words) };
  }

  /** The grammar recognizer's words, or none once it failed (it is then freed, and the session goes on without it). */
  private command(f: (c: VoskHandle) => Word[]): Word[] | undefined {
    if (!this.commands) return undefined;
    try {
      return f(this.commands);
    } catch (err) {
      this.commands.free();
      this.commands = undefined;
      this.source?.failed(err);
      return undefined;
    }
  }

  free(): void {
    this.general.free();
    this.commands?.free();
    this.commands = undefined;
  }
}

/** What kind of decoding graph a Vosk model has, as libvosk looks for it (graph/ in the current layout, the top directory in the old one). */
export function voskGraph(dir: string): 'runtime' | 'static' | 'none' {
  for (const d of [path.join(dir, 'graph'), dir]) {
    // libvosk loads HCLG.fst when there is one, and only otherwise HCLr.fst and Gr.fst (model.cc).
    if (fs.existsSync(path.join(d, 'HCLG.fst'))) return 'static';
    if (fs.existsSync(path.join(d, 'HCLr.fst')) && fs.existsSync(path.join(d, 'Gr.fst'))) return 'runtime';
  }
  return 'none';
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

  /** The command model as libvosk's grammar (JSON text), while it is used; null without one or once it failed. */
  private grammar: string | null = null;
  /** Whether a grammar recognizer failing mid-session was logged (once per engine). */
  private decodeFailureLogged = false;

  constructor(
    private readonly settings: SttSettings['vosk'],
    private readonly shared?: SharedModel,
    private readonly commands?: SttSettings['commands'],
    private readonly notice: EngineNotice = () => {},
  ) {}

  load(): void {
    if (this.shared) {
      if (this.shared.engine !== this.name) throw new VoiceError('VOICE_STT_FAILED', `a ${this.shared.engine} model cannot be shared with the vosk engine`);
      this.api = loadVoskApi(this.settings.library);
      this.model = this.shared.address;
      this.loadGrammar(path.resolve(this.settings.model));
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
    this.loadGrammar(dir);
  }

  /**
   * Takes the command model's grammar (settings.commands.grammar) when the
   * model can use one. libvosk builds a grammar's graph only on a model with
   * a runtime graph (HCLr.fst and Gr.fst: the small models); on one with a
   * static HCLG.fst it warns and decodes with the full graph, which would
   * only duplicate the general recognizer. Never fails the engine's start.
   */
  private loadGrammar(dir: string): void {
    const file = this.commands?.grammar;
    if (!file) return;
    const graph = voskGraph(dir);
    if (graph !== 'runtime') {
      const why = graph === 'static' ? 'its graph is static (HCLG.fst)' : 'no graph (HCLr.fst and Gr.fst) was found in it';
      this.notice('info', `the command model is not used with this Vosk model: ${why}; libvosk decodes a grammar only with a model that has a runtime graph (graph/HCLr.fst and graph/Gr.fst, as the small models have)`, { model: dir });
      return;
    }
    try {
      const text = fs.readFileSync(file, 'utf8');
      const phrases: unknown = JSON.parse(text);
      // libvosk dereferences a graph it never built when given an empty list: never hand it one.
      if (!Array.isArray(phrases) || phrases.length === 0 || !phrases.every((p) => typeof p === 'string' && p.trim() !== '')) throw new Error('not a non-empty JSON array of phrases');
      this.grammar = text;
    } catch (err) {
      this.notice('warn', `the command model's Vosk grammar could not be read (${(err as Error).message}): sessions decode with the general model alone`, { grammar: file });
    }
  }

  /** A grammar recognizer for a new session, or none (no grammar, or libvosk refused it: then never again in this engine). */
  private grammarRecognizer(): VoskHandle | undefined {
    if (!this.api || !this.grammar) return undefined;
    let handle: unknown = null;
    let why = 'it returned NULL';
    try {
      handle = this.api.vosk_recognizer_new_grm(this.model, 16000, this.grammar);
    } catch (err) {
      why = `it threw: ${(err as Error).message}`;
    }
    if (handle) return new VoskHandle(this.api, handle);
    this.grammar = null;
    this.notice('warn', `vosk_recognizer_new_grm failed (${why}): the command model is not used, sessions decode with the general model alone`, { grammar: this.commands?.grammar });
    return undefined;
  }

  createRecognizer(): Recognizer {
    if (!this.api || !this.model) throw new VoiceError('VOICE_STT_FAILED', 'Vosk engine not loaded');
    return new VoskRecognizer(this.api, this.model, {
      make: () => this.grammarRecognizer(),
      failed: (err) => {
        if (this.decodeFailureLogged) return;
        this.decodeFailureLogged = true;
        this.notice('warn', `the grammar recognizer failed while decoding (${(err as Error).message}): that session goes on with the general model alone`);
      },
    });
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
