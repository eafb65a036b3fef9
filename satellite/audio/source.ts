import { EventEmitter } from 'node:events';

/**
 * An audio source emits 'data' with s16le 16 kHz mono PCM buffers (any size),
 * 'error' with a VoiceError, and 'end' when it has no more audio.
 */
export interface AudioSource extends EventEmitter {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export abstract class BaseSource extends EventEmitter implements AudioSource {
  abstract readonly name: string;
  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;
}
