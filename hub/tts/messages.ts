/** Messages between the hub and its TTS process (hub/tts/process.ts and hub/tts/host.ts). */
import * as os from 'node:os';
import * as path from 'node:path';
import type { TtsFormat } from './engine';
import type { PiperOptions } from './piper';

/** What the TTS process is started with: the one engine it runs (engines.ts picks it) and its settings. */
export interface TtsProcessInit {
  engine: 'piper' | 'flite';
  piper: PiperOptions;
  flite: { binary: string; voice: string };
  logLevel: string;
}

/** The engine is ready: its output format, and for Piper the intra-op threads it runs with. */
export interface TtsProcessReady {
  name: string;
  format: TtsFormat;
  threads?: number;
}

/** Hub -> TTS process: synthesize one sentence (`id` is the hub's), or stop synthesizing it. */
export type ToTtsProcess = { type: 'synth'; id: number; text: string } | { type: 'abort'; id: number };

/** TTS process -> hub: a sentence's PCM chunks as they are made (bytes), then its end or its coded error. */
export type FromTtsProcess =
  | { type: 'chunk'; id: number; pcm: Uint8Array }
  | { type: 'end'; id: number }
  | { type: 'error'; id: number; code: string; message: string };

/**
 * The TTS process's own temporary directory (flite's WAV files). A flite that the process spawned outlives a
 * process that was killed, and would leave its file behind: the hub removes the directory when the process dies,
 * and a flite still running then cannot create its file.
 */
export function ttsTempDir(pid: number): string {
  return path.join(os.tmpdir(), `voice-hub-tts-${pid}`);
}
