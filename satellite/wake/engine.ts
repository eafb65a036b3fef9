import { VoiceError } from '../../common/errors';

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
  /** The score a detection needs, when the engine can change it while running (openWakeWord); absent when it cannot (Porcupine). */
  readonly threshold?: number;
  /** Changes `threshold` from the next frame on. */
  setThreshold?(threshold: number): void;
}

/**
 * The `threshold` command: changes the engine's threshold, or throws
 * VOICE_WAKE_THRESHOLD_FIXED for an engine that cannot change it while it
 * runs (Porcupine's sensitivity is fixed when the engine is made). Returns
 * the threshold it had.
 */
export function setWakeThreshold(engine: WakeEngine, threshold: number): number {
  if (!engine.setThreshold || engine.threshold === undefined) {
    throw new VoiceError('VOICE_WAKE_THRESHOLD_FIXED', `the ${engine.name} wake engine cannot change its threshold while it runs: set its sensitivity in the satellite's config (wake.porcupine.sensitivity) and restart it`);
  }
  const was = engine.threshold;
  engine.setThreshold(threshold);
  return was;
}
