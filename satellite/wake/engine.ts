/** A wake-word engine consumes 16 kHz mono int16 audio and reports detections. */
export interface WakeDetection {
  keyword: string;
  score: number;
}

export interface WakeEngine {
  readonly name: string;
  /** Samples the engine wants per process() call (openWakeWord: 1280, Porcupine: 512). */
  readonly frameLength: number;
  start(): Promise<void>;
  /** Processes exactly frameLength samples; returns a detection or null. */
  process(frame: Int16Array): Promise<WakeDetection | null>;
  /** Clears internal audio history (after a detection, so it does not fire twice). */
  reset(): void;
  stop(): Promise<void>;
}
