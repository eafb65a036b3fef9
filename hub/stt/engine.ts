/**
 * Speech-to-text engines. Engines run inside worker threads (hub/stt/worker.ts):
 * `load()` loads the model once per worker, then one Recognizer per live session.
 * All calls are synchronous native calls; the worker keeps them off the main loop.
 */
export interface AcceptResult {
  /** Current best partial hypothesis (may be unchanged). */
  partial: string;
  /** The engine detected the end of the utterance (speech followed by silence). */
  endpoint: boolean;
}

export interface FinalResult {
  text: string;
  /** 0..1 where the engine provides a confidence. */
  confidence?: number;
}

export interface Recognizer {
  accept(pcm: Int16Array): AcceptResult;
  final(): FinalResult;
  /** Frees native memory; the recognizer may not be used afterwards. */
  free(): void;
}

export interface SttEngine {
  readonly name: string;
  load(): void;
  createRecognizer(): Recognizer;
  unload(): void;
}

export type SttEngineName = 'auto' | 'vosk' | 'pocketsphinx';

export interface SttSettings {
  engine: SttEngineName;
  vosk: { model: string; library: string };
  pocketsphinx: { hmm: string; lm: string; dict: string; library: string; sphinxbase: string; args: string };
}
