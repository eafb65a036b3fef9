/** Messages between the hub's main thread and its STT worker threads. */
import type { SharedModel, SttSettings, Word } from './engine';

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
  /** `shared`: the model this worker loaded, handed to the pool (the first worker of an engine that shares its model); */
  | { type: 'ready'; engine: string; shared?: SharedModel }
  | { type: 'load-error'; code: string; message: string }
  /** Something the engine says for the hub's log (the pool logs each message once). */
  | { type: 'notice'; level: 'info' | 'warn'; msg: string; fields?: Record<string, unknown> }
  | { type: 'partial'; sid: string; words: Word[]; endpoint: boolean; audioMs: number; commands?: Word[] }
  | { type: 'final'; sid: string; words: Word[]; confidence?: number; decodeMs: number; commands?: Word[] }
  | { type: 'error'; sid: string; code: string; message: string }
  /** `decoders`: what the engine holds, live and idle (SttEngine.decoders; absent for engines that keep none). */
  | { type: 'stats'; id: number; recognizers: number; decoders?: number };

/** What the hub's STT process (hub/stt/host.ts) is started with. */
export interface SttProcessInit {
  settings: SttSettings;
  workers: number;
  /** Sessions to warm up for, over all workers (stt.warmSessions, resolved). */
  warm: number;
  logLevel: string;
}

/** The STT process is ready: the engine its workers run and how many there are. */
export interface SttProcessReady {
  engine: string;
  workers: number;
  /** Sessions the process decodes at once without loading anything. */
  capacity: number;
}

/** Hub -> STT process: one session's messages (audio as bytes), or a count request. */
export type ToSttProcess =
  | { type: 'open'; sid: string }
  | { type: 'audio'; sid: string; pcm: Uint8Array }
  | { type: 'wake'; sid: string; wakeMs: number; marginMs: number }
  | { type: 'final'; sid: string }
  | { type: 'abort'; sid: string }
  | { type: 'stats'; id: number }
  /** Diagnostics (tests): terminate worker thread `index` while it waits for work; the pool replaces it. Answered by stats once it has exited. */
  | { type: 'terminate-worker'; id: number; index: number };

/** STT process -> hub: what the pool said about a session, or the recognizers each worker holds. */
export type FromSttProcess =
  | { type: 'partial'; sid: string; words: Word[]; endpoint: boolean; audioMs: number; commands?: Word[] }
  | { type: 'final'; sid: string; words: Word[]; confidence?: number; decodeMs: number; commands?: Word[] }
  | { type: 'error'; sid: string; code: string; message: string }
  /** Per worker thread, in pool order: the recognizers it holds and its threadId. */
  | { type: 'stats'; id: number; recognizers: number[]; threads: number[] };
