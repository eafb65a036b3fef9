/**
 * Speech-to-text engines. Engines run inside worker threads (hub/stt/worker.ts):
 * `load()` loads the model once per worker (once per pool for an engine that
 * shares it), then one Recognizer per live session.
 * All calls are synchronous native calls; the worker keeps them off the main loop.
 */
/** Where an engine (in its worker thread, without a logger) sends what the hub's log should say; the pool logs each message once. */
export type EngineNotice = (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;

/** One recognised word and where it lies, ms from the recognizer's first sample (absent when the engine gave no timings). */
export interface Word {
  word: string;
  startMs?: number;
  endMs?: number;
}

/** The words as text: what `partial` and `text` are. */
export const textOf = (words: readonly Word[]): string => words.map((w) => w.word).join(' ');

export interface AcceptResult {
  /** Current best partial hypothesis (may be unchanged). */
  partial: string;
  /** The engine detected the end of the utterance (speech followed by silence). */
  endpoint: boolean;
  /** The partial's words with their timings, in order; `words.map(w => w.word).join(' ')` is `partial`. */
  words: Word[];
  /** The same audio decoded with the command model (settings.commands), where the engine has one. */
  commands?: Word[];
}

export interface FinalResult {
  text: string;
  /** 0..1 where the engine provides a confidence. */
  confidence?: number;
  /** The final's words with their timings, in order; they join to `text`. */
  words: Word[];
  /** The same audio decoded with the command model (settings.commands), where the engine has one. */
  commands?: Word[];
}

export interface Recognizer {
  accept(pcm: Int16Array): AcceptResult;
  final(): FinalResult;
  /**
   * Starts decoding over, as if the audio so far had not been heard: word
   * times count from the next sample. An engine that adapts to the audio
   * (pocketsphinx's cepstral mean) may start over from where it stood at
   * creation (hub/stt/ps-cmn.ts says when).
   * Optional: without it a new recognizer takes the old one's place.
   */
  restart?(): void;
  /** Frees native memory; the recognizer may not be used afterwards. */
  free(): void;
}

/** A model loaded once and used by every STT worker thread of one process: its native address (valid in that process only). */
export interface SharedModel {
  engine: string;
  address: bigint;
}

export interface SttEngine {
  readonly name: string;
  load(): void;
  createRecognizer(): Recognizer;
  /**
   * Makes what `n` sessions at once need ahead of time (pocketsphinx: n
   * decoders, ~0.2 s and ~48 MB each), so that no session waits for one to
   * load. Engines whose recognizers are cheap to make (Vosk, on its shared
   * model) need not implement it.
   */
  warm?(n: number): void;
  /** Decoders it holds, live and idle (diagnostics: a test checks none is made on the hot path). */
  decoders?(): number;
  unload(): void;
  /**
   * Engines whose model the threads of one process can share (Vosk) hand it
   * over after load(); the pool gives it to createEngine() in its other
   * workers. From then on unload() leaves the model loaded, and
   * freeSharedModel() frees it, in one thread, once the others are done.
   */
  shareModel?(): SharedModel;
  freeSharedModel?(): void;
}

/** crash-test is for tests only (hub/stt/crash-test.ts). */
export type SttEngineName = 'auto' | 'vosk' | 'pocketsphinx' | 'crash-test';

export interface SttSettings {
  engine: SttEngineName;
  vosk: { model: string; library: string };
  pocketsphinx: { hmm: string; lm: string; dict: string; library: string; sphinxbase: string; args: string; /** Extra decoder arguments of the command model's decoder, after args. */ commandArgs?: string };
  /**
   * The command model, decoded beside the general one; the hub takes its words when they are a command
   * (docs/intents.md). `lm`: a language model of the intent templates (hub/intents/arpa.ts, ARPA text), for
   * pocketsphinx. `grammar`: the same templates' phrases as libvosk's grammar (a JSON array of strings), for
   * Vosk models with a runtime graph.
   */
  commands?: { lm: string; grammar?: string };
  /**
   * Semantic end of speech (intents.endOfCommandMs): a partial is also posted once this much audio has been
   * decoded past the last word, so the hub decides on decoded audio, not on the clock.
   */
  quietMs?: number;
  /** How many STT processes died before the one this runs in (set by hub/stt/host.ts; 0 or absent in the first). */
  generation?: number;
}
