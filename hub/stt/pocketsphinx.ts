/**
 * CMU pocketsphinx (Debian libpocketsphinx3, 5prealpha API) through koffi.
 * The acoustic model loads once per decoder; decoders are pooled and reused
 * across sessions, so a worker holds one decoder per live session at most.
 */
import * as fs from 'node:fs';
import { VoiceError } from '../../common/errors';
import { loadApi, type PsApi } from './ps-api';
import { cmnOf, getMean } from './ps-cmn';
import { canShareLm, SharedLm } from './ps-lm';
import { type AcceptResult, type FinalResult, type Recognizer, type SttEngine, type SttSettings, textOf, type Word } from './engine';

/** pocketsphinx frames per second (-frate, 100 by default). */
const FRAME_MS = 10;
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
/** Segments that are not words: <s>, </s>, <sil>, and fillers such as [NOISE] or ++BREATH++. */
const NOT_A_WORD = /^[<[+]/;

export class PsRecognizer implements Recognizer {
  private freed = false;
  /** Audio decoded so far, ms. */
  private heardMs = 0;
  /** The last word's end at the latest endpoint. */
  private endpointAfter: number | undefined;
  /** The decoder's cepstral mean when this session began (see ps-cmn.ts); null where it cannot be read, and in a worker's first session. */
  private readonly startMean: Float32Array | null;
  private readonly cmn: unknown;
  constructor(
    private readonly engine: PocketsphinxEngine,
    private readonly api: PsApi,
    readonly decoder: unknown,
  ) {
    // A new stream per session: word times count from its first sample.
    this.cmn = cmnOf(api, decoder);
    // Every session starts from the mean the last session in this worker ended with (see ps-cmn.ts).
    // A worker's first session starts from the model's -cmninit, which fits this audio worse than
    // what the session's own pre-roll teaches: its restart keeps the adapted mean (startMean null).
    const latest = engine.latestMean;
    if (this.cmn && latest) api.cmn_live_set(this.cmn, latest);
    this.startMean = this.cmn ? latest : null;
    this.begin();
  }

  private begin(): void {
    const api = this.api;
    if (api.ps_start_stream(this.decoder) < 0 || api.ps_start_utt(this.decoder) < 0) throw new VoiceError('VOICE_STT_FAILED', 'ps_start_utt failed');
  }

  /** The decoder's cepstral mean now (null where it cannot be read): for diagnostics and tests. */
  get cepstralMean(): Float32Array | null {
    return this.cmn ? getMean(this.api, this.cmn) : null;
  }

  /** Decodes anew from the next sample, with the cepstral mean the session started with, unless it was the model's (see ps-cmn.ts). */
  restart(): void {
    this.api.ps_end_utt(this.decoder);
    if (this.cmn && this.startMean) this.api.cmn_live_set(this.cmn, this.startMean);
    this.heardMs = 0;
    this.endpointAfter = undefined;
    this.begin();
  }

  accept(pcm: Int16Array): AcceptResult {
    if (this.api.ps_process_raw(this.decoder, pcm, pcm.length, 0, 0) < 0) throw new VoiceError('VOICE_STT_FAILED', 'ps_process_raw failed');
    this.heardMs += pcm.length / SAMPLES_PER_MS;
    const words = this.hyp();
    // The end of the utterance: ENDPOINT_SILENCE_MS of audio decoded past the last word, once per last word.
    const last = words.at(-1);
    const endpoint = last !== undefined && this.heardMs - (last.endMs ?? 0) >= ENDPOINT_SILENCE_MS && last.endMs !== this.endpointAfter;
    if (endpoint) this.endpointAfter = last.endMs;
    return { partial: textOf(words), endpoint, words };
  }

  final(): FinalResult {
    this.api.ps_end_utt(this.decoder);
    const words = this.hyp();
    return { text: textOf(words), words };
  }

  /** The best hypothesis so far as timed words. */
  private hyp(): Word[] {
    const text = ((this.api.ps_get_hyp(this.decoder, [0]) as string | null) ?? '').trim();
    return text === '' ? [] : this.segments();
  }

  private segments(): Word[] {
    const api = this.api;
    const words: Word[] = [];
    for (let seg: unknown = api.ps_seg_iter(this.decoder, null); seg; seg = api.ps_seg_next(seg)) {
      const word = (api.ps_seg_word(seg) as string | null) ?? '';
      if (word === '' || NOT_A_WORD.test(word)) continue;
      const sf = [0];
      const ef = [0];
      api.ps_seg_frames(seg, sf, ef);
      // Alternative pronunciations are "word(2)"; the hypothesis says "word".
      words.push({ word: word.replace(/\(\d+\)$/, ''), startMs: sf[0] * FRAME_MS, endMs: (ef[0] + 1) * FRAME_MS });
    }
    return words;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.engine.release(this.decoder, this.cmn);
  }
}

export class PocketsphinxEngine implements SttEngine {
  readonly name = 'pocketsphinx';
  private api: PsApi | null = null;
  private idle: unknown[] = [];
  private live = 0;
  /** The LM and trimmed dictionary this thread's decoders share (ps-lm.ts); null when the arguments choose another search. */
  private shared: SharedLm | null = null;
  /** The cepstral mean the latest session ended with (ps_end_utt updates it); null until one has. */
  latestMean: Float32Array | null = null;

  constructor(private readonly settings: SttSettings['pocketsphinx']) {}

  load(): void {
    const s = this.settings;
    for (const [what, p] of [['acoustic model (-hmm)', s.hmm], ['language model (-lm)', s.lm], ['dictionary (-dict)', s.dict]] as const) {
      if (!fs.existsSync(p)) {
        throw new VoiceError('VOICE_STT_MODEL_MISSING', `pocketsphinx ${what} not found at ${p}; install it with: apt-get install pocketsphinx-en-us`, { path: p });
      }
    }
    this.api = loadApi(s);
    this.api.err_set_logfp(null);
    if (canShareLm(s.args)) {
      const shared = new SharedLm(this.api, s);
      const config = this.parse(['-lm', s.lm], s.dict);
      try {
        shared.load(config);
      } finally {
        this.api.cmd_ln_free_r(config);
      }
      this.shared = shared;
    }
    // Warm one decoder so model problems surface at start-up, not on the first wake.
    this.release(this.newDecoder());
  }

  private newDecoder(): unknown {
    const api = this.api as PsApi;
    const s = this.settings;
    // No -logfn: pocketsphinx opens that file into a process-wide FILE* and fcloses the previous one on
    // every ps_init, which races (double fclose) when decoders are created in several worker threads.
    // Logging is silenced once with err_set_logfp(NULL) instead.
    // -remove_silence no: with pocketsphinx's own silence removal on, word times (ps_seg_frames) come out
    // hundreds of ms late after a pause, and the hub needs them to drop the wake word's words.
    // With a shared LM the decoder is made without -lm and given the thread's model after ps_init.
    const config = this.shared ? this.parse([], this.shared.dict) : this.parse(['-lm', s.lm], s.dict);
    const decoder: unknown = api.ps_init(config);
    // The decoder keeps its own reference to the config.
    api.cmd_ln_free_r(config);
    if (!decoder) throw new VoiceError('VOICE_STT_MODEL_INVALID', `pocketsphinx could not load the model at ${s.hmm}`);
    try {
      this.shared?.attach(decoder);
    } catch (err) {
      api.ps_free(decoder);
      throw err;
    }
    return decoder;
  }

  /** The decoder's arguments, parsed (cmd_ln_free_r frees them); `lm` is the -lm pair or nothing. */
  private parse(lm: string[], dict: string): unknown {
    const api = this.api as PsApi;
    const s = this.settings;
    const argv = ['-hmm', s.hmm, ...lm, '-dict', dict, '-samprate', '16000', '-remove_silence', 'no', ...s.args.split(/\s+/).filter(Boolean)];
    const config: unknown = api.cmd_ln_parse_r(null, api.ps_args(), argv.length, argv, 1);
    if (!config) throw new VoiceError('VOICE_STT_MODEL_INVALID', 'pocketsphinx rejected its arguments');
    return config;
  }

  createRecognizer(): Recognizer {
    if (!this.api) throw new VoiceError('VOICE_STT_FAILED', 'pocketsphinx engine not loaded');
    // The pool sends a worker no more sessions than it warmed (warm()); a decoder made here, on the
    // thread that decodes live sessions, is the exception (an engine used without the pool's limit).
    const decoder = this.idle.pop() ?? this.newDecoder();
    this.live++;
    return new PsRecognizer(this, this.api, decoder);
  }

  /** Loads decoders until `n` sessions at once have one each (see SttEngine.warm). */
  warm(n: number): void {
    while (this.api && this.live + this.idle.length < n) this.idle.push(this.newDecoder());
  }

  /** Returns a decoder to the pool (called by PsRecognizer.free, with the decoder's cmn_t). */
  release(decoder: unknown, cmn?: unknown): void {
    const api = this.api as PsApi;
    // Ending an utterance that is not running only returns an error code; it is harmless.
    api.ps_end_utt(decoder);
    // The session's audio updated the mean at its end: the next session, on any decoder, starts there.
    if (cmn) this.latestMean = getMean(api, cmn);
    if (this.live > 0) this.live--;
    this.idle.push(decoder);
  }

  get stats(): { live: number; idle: number } {
    return { live: this.live, idle: this.idle.length };
  }

  decoders(): number {
    return this.live + this.idle.length;
  }

  unload(): void {
    const api = this.api;
    if (!api) return;
    for (const d of this.idle) api.ps_free(d);
    this.idle = [];
    this.shared?.free();
    this.shared = null;
    this.api = null;
  }
}
