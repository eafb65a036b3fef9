/** Messages between the hub's main thread and its STT worker threads. */
import type { SharedModel, Word } from './engine';

export type ToWorker =
  | { type: 'open'; sid: string }
  | { type: 'audio'; sid: string; pcm: ArrayBuffer }
  /** Where the session's wake word fired (audio/start wakeMs) and session.wakeMarginMs. */
  | { type: 'wake'; sid: string; wakeMs: number; marginMs: number }
  | { type: 'final'; sid: string }
  | { type: 'abort'; sid: string }
  /** Asks the worker how many recognizers it holds (leak checks count inside the worker). */
  | { type: 'stats'; id: number }
  /** Free every recognizer and exit (the pool's graceful stop); the last worker also frees the pool's shared model. */
  | { type: 'shutdown'; freeSharedModel?: boolean };

export type FromWorker =
  /** `shared`: the model this worker loaded, handed to the pool (the first worker of an engine that shares its model). */
  | { type: 'ready'; engine: string; shared?: SharedModel }
  | { type: 'load-error'; code: string; message: string }
  | { type: 'partial'; sid: string; words: Word[]; endpoint: boolean; audioMs: number }
  | { type: 'final'; sid: string; words: Word[]; confidence?: number; decodeMs: number }
  | { type: 'error'; sid: string; code: string; message: string }
  | { type: 'stats'; id: number; recognizers: number };
