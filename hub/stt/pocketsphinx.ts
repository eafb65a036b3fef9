/**
 * CMU pocketsphinx (Debian libpocketsphinx3, 5prealpha API) through koffi.
 * The acoustic model loads once per decoder; decoders are pooled and reused
 * across sessions, so a worker holds one decoder per live session at most,
 * and one more on the command model (the intent templates' language model,
 * hub/intents/arpa.ts) when the hub gave one: both hear the same audio, and
 * the hub takes the command model's words when they are a command.
 */
import * as fs from 'node:fs';
import { VoiceError } from '../../common/errors';
import { loadApi, type PsApi } from './ps-api';
import { getMean } from './ps-cmn';
import { canShareLm, SharedLm } from './ps-lm';
import { type AcceptResult, type EngineNotice, type FinalResult, type Recognizer, type SttEngine, type SttSettings, textOf } from './engine';
import { PsStream, type StreamOwner } from './ps-stream';

const SAMPLES_PER_MS = 16;
/**
 * Decoded audio past the last word that makes an endpoint. pocketsphinx's own
 * speech detector (ps_get_in_speech) only works with -remove_silence yes, which
 * breaks word times, so the endpoint comes from the word times instead. It
 * is a fallback for satellites that do not endpoint themselves: longer than
 * a satellite's vad.silenceMs (400 ms) plus its VAD's lag, so the satellite's
 * stop normally comes first.
 */
const ENDPOINT_SILENCE_MS = 800;

/** A session: its stream on the general model, and on the command model when there is one. */
export class PsRecognizer implements Recognizer {
  /** Audio decoded so far, ms. */
  private heardMs = 0;
  /** The last word's end at the latest endpoint. */
  private endpointAfter: number | undefined;

  constructor(
    readonly general: PsStream,
    readonly commands?: PsStream,
  ) {}

  get decoder(): unknown {
    return this.general.decoder;
  }

  /** The general decoder's cepstral mean now (null where it cannot be read): for diagnostics and tests. */
  get cepstralMean(): Float32Array | null {
    return this.general.cepstralMean;
  }

  restart(): void {
    this.general.restart();
    this.commands?.restart();
    this.heardMs = 0;
    this.endpointAfter = undefined;
  }

  accept(pcm: Int16Array): AcceptResult {
    this.general.process(pcm);
    this.commands?.process(pcm);
    this.heardMs += pcm.length / SAMPLES_PER_MS;
    const words = this.general.words();
    // The end of the utterance: ENDPOINT_SILENCE_MS of audio decoded past the last word, once per last word.
    const last = words.at(-1);
    const endpoint = last !== undefined && this.heardMs - (last.endMs ?? 0) >= ENDPOINT_SILENCE_MS && last.endMs !== this.endpointAfter;
    if (endpoint) this.endpointAfter = last.endMs;
    return { partial: textOf(words), endpoint, words, commands: this.commands?.words() };
  }

  final(): FinalResult {
    this.general.end();
    this.commands?.end();
    const words = this.general.words();
    return { text: textOf(words), words, commands: this.commands?.words() };
  }

  free(): void {
    this.general.free();
    this.commands?.free();
  }
}

/** Decoders on one model: its shared LM and trimmed dictionary (ps-lm.ts), and the idle ones. */
interface Bank {
  model: PsStream['model'];
  /** Null when the arguments choose another search than the n-gram one (general model only). */
  shared: SharedLm | null;
  idle: unknown[];
  live: number;
}

export class PocketsphinxEngine implements SttEngine, StreamOwner {
  readonly name = 'pocketsphinx';
  private api: PsApi | null = null;
  private readonly general: Bank = { model: 'general', shared: null, idle: [], live: 0 };
  /** Decoders on the command model (settings.commands); none without one. */
  private commands: Bank | null = null;
  /** The cepstral mean the latest session ended with (ps_end_utt updates it); null until one has. */
  latestMean: Float32Array | null = null;

  constructor(
    private readonly settings: SttSettings['pocketsphinx'],
    private readonly commandModel?: SttSettings['commands'],
    private readonly notice: EngineNotice = () => {},
  ) {}

  load(): void {
    const s = this.settings;
    for (const [what, p] of [['acoustic model (-hmm)', s.hmm], ['language model (-lm)', s.lm], ['dictionary (-dict)', s.dict]] as const) {
      if (!fs.existsSync(p)) {
        throw new VoiceError('VOICE_STT_MODEL_MISSING', `pocketsphinx ${what} not found at ${p}; install it with: apt-get install pocketsphinx-en-us`, { path: p });
      }
    }
    this.api = loadApi(s);
    this.api.err_set_logfp(null);
    if (canShareLm(s.args)) this.general.shared = this.sharedLm(s.lm);
    // Warm one decoder of each so model problems surface at start-up, not on the first wake.
    this.general.idle.push(this.newDecoder(this.general));
    // The command model needs the n-gram search too: with another one chosen, sessions decode with the general model only.
    if (this.commandModel && this.general.shared) this.loadCommands(this.commandModel.lm);
  }

  /** The command model's bank; a model that fails to load costs only itself: sessions decode with the general model (a warning). */
  private loadCommands(lm: string): void {
    const bank: Bank = { model: 'commands', shared: null, idle: [], live: 0 };
    try {
      bank.shared = this.sharedLm(lm);
      bank.idle.push(this.newDecoder(bank));
      this.commands = bank;
    } catch (err) {
      for (const d of bank.idle) (this.api as PsApi).ps_free(d);
      bank.shared?.free();
      this.notice('warn', 'the command model could not be loaded: sessions decode with the general model alone', { lm, err: (err as Error).message });
    }
  }

  private sharedLm(lm: string): SharedLm {
    const api = this.api as PsApi;
    const shared = new SharedLm(api, { ...this.settings, lm });
    const config = this.parse(['-lm', lm], this.settings.dict);
    try {
      shared.load(config);
    } catch (err) {
      shared.free();
      throw err;
    } finally {
      api.cmd_ln_free_r(config);
    }
    return shared;
  }

  private newDecoder(bank: Bank): unknown {
    const api = this.api as PsApi;
    const s = this.settings;
    // No -logfn: pocketsphinx opens that file into a process-wide FILE* and fcloses the previous one on
    // every ps_init, which races (double fclose) when decoders are created in several worker threads.
    // Logging is silenced once with err_set_logfp(NULL) instead.
    // -remove_silence no: with pocketsphinx's own silence removal on, word times (ps_seg_frames) come out
    // hundreds of ms late after a pause, and the hub needs them to drop the wake word's words.
    // With a shared LM the decoder is made without -lm and given the thread's model after ps_init.
    const extra = bank.model === 'commands' ? s.commandArgs : '';
    const config = bank.shared ? this.parse([], bank.shared.dict, extra) : this.parse(['-lm', s.lm], s.dict, extra);
    const decoder: unknown = api.ps_init(config);
    // The decoder keeps its own reference to the config.
    api.cmd_ln_free_r(config);
    if (!decoder) throw new VoiceError('VOICE_STT_MODEL_INVALID', `pocketsphinx could not load the model at ${s.hmm}`);
    try {
      bank.shared?.attach(decoder);
    } catch (err) {
      api.ps_free(decoder);
      throw err;
    }
    return decoder;
  }

  /** The decoder's arguments, parsed (cmd_ln_free_r frees them); `lm` is the -lm pair or nothing; `extra` comes last (the command model's). */
  private parse(lm: string[], dict: string, extra = ''): unknown {
    const api = this.api as PsApi;
    const s = this.settings;
    const argv = ['-hmm', s.hmm, ...lm, '-dict', dict, '-samprate', '16000', '-remove_silence', 'no', ...`${s.args} ${extra ?? ''}`.split(/\s+/).filter(Boolean)];
    const config: unknown = api.cmd_ln_parse_r(null, api.ps_args(), argv.length, argv, 1);
    if (!config) throw new VoiceError('VOICE_STT_MODEL_INVALID', 'pocketsphinx rejected its arguments');
    return config;
  }

  private stream(bank: Bank): PsStream {
    // The pool sends a worker no more sessions than it warmed (warm()); a decoder made here, on the
    // thread that decodes live sessions, is the exception (an engine used without the pool's limit).
    const decoder = bank.idle.pop() ?? this.newDecoder(bank);
    try {
      const stream = new PsStream(this, this.api as PsApi, decoder, bank.model);
      bank.live++;
      return stream;
    } catch (err) {
      bank.idle.push(decoder);
      throw err;
    }
  }

  createRecognizer(): Recognizer {
    if (!this.api) throw new VoiceError('VOICE_STT_FAILED', 'pocketsphinx engine not loaded');
    const general = this.stream(this.general);
    try {
      return new PsRecognizer(general, this.commands ? this.stream(this.commands) : undefined);
    } catch (err) {
      general.free();
      throw err;
    }
  }

  /** Loads decoders until `n` sessions at once have one each, on each model (see SttEngine.warm). */
  warm(n: number): void {
    for (const bank of this.banks()) while (this.api && bank.live + bank.idle.length < n) bank.idle.push(this.newDecoder(bank));
  }

  private banks(): Bank[] {
    return this.commands ? [this.general, this.commands] : [this.general];
  }

  /** Returns a stream's decoder to its bank (PsStream.free). */
  release(decoder: unknown, cmn: unknown, stream: PsStream): void {
    const api = this.api as PsApi;
    const bank = stream.model === 'commands' && this.commands ? this.commands : this.general;
    // Ending an utterance that is not running only returns an error code; it is harmless.
    api.ps_end_utt(decoder);
    // The session's audio updated the mean at its end: the next session, on any decoder, starts there.
    if (cmn && bank === this.general) this.latestMean = getMean(api, cmn);
    if (bank.live > 0) bank.live--;
    bank.idle.push(decoder);
  }

  get stats(): { live: number; idle: number; commands?: { live: number; idle: number } } {
    const c = this.commands;
    return { live: this.general.live, idle: this.general.idle.length, ...(c ? { commands: { live: c.live, idle: c.idle.length } } : {}) };
  }

  /** Decoders on the general model, live and idle (a session's command-model decoder, ~7 MB, comes with it). */
  decoders(): number {
    return this.general.live + this.general.idle.length;
  }

  unload(): void {
    const api = this.api;
    if (!api) return;
    for (const bank of this.banks()) {
      for (const d of bank.idle) api.ps_free(d);
      bank.idle = [];
      bank.shared?.free();
      bank.shared = null;
    }
    this.api = null;
  }
}
