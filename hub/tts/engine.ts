/** Text-to-speech engines: text in, 16-bit mono PCM chunks out, abortable. */
export interface TtsFormat {
  encoding: 's16le';
  rate: number;
  channels: 1;
}

export interface TtsEngine {
  readonly name: string;
  /** Output format, known after start(). */
  readonly format: TtsFormat;
  start(): Promise<void>;
  /** Synthesizes one sentence; yields PCM chunks; stops early when `signal` aborts. */
  synthesize(text: string, signal: AbortSignal): AsyncIterable<Buffer>;
  stop(): Promise<void>;
}

/** Chunk size for publishing: 100 ms of audio at `rate`. */
export function chunkBytes(rate: number): number {
  return Math.round(rate / 10) * 2;
}
