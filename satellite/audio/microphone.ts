/**
 * The microphone through naudiodon (PortAudio): 16 kHz mono s16, 100 ms
 * buffers. naudiodon is required lazily so other sources never load it.
 */
import { VoiceError } from '../../common/errors';
import { type PaDevice, resolveDevice } from './devices';
import { BaseSource } from './source';

interface AudioIOStream {
  on(event: 'data', fn: (b: Buffer) => void): void;
  on(event: 'error', fn: (e: Error) => void): void;
  start(): void;
  quit(cb?: () => void): void;
}

interface Naudiodon {
  AudioIO: new (opts: { inOptions: Record<string, unknown> }) => AudioIOStream;
  SampleFormat16Bit: number;
  getDevices(): PaDevice[];
}

export class MicrophoneSource extends BaseSource {
  readonly name = 'microphone';
  private io?: AudioIOStream;

  constructor(private readonly device: string) {
    super();
  }

  start(): Promise<void> {
    let pa: Naudiodon;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      pa = require('naudiodon') as Naudiodon;
    } catch (err) {
      return Promise.reject(new VoiceError('VOICE_AUDIO_SOURCE_FAILED', `naudiodon could not be loaded: ${(err as Error).message}`, undefined, { cause: err }));
    }
    try {
      const io = new pa.AudioIO({
        inOptions: { channelCount: 1, sampleFormat: pa.SampleFormat16Bit, sampleRate: 16000, deviceId: resolveDevice(this.device, () => pa.getDevices(), 'input', 'VOICE_AUDIO_SOURCE_FAILED'), closeOnError: false, framesPerBuffer: 1600, highwaterMark: 3200 },
      });
      io.on('data', (b: Buffer) => this.emit('data', b));
      io.on('error', (e: Error) => this.emit('error', new VoiceError('VOICE_AUDIO_SOURCE_FAILED', `microphone error: ${e.message}`, undefined, { cause: e })));
      io.start();
      this.io = io;
      return Promise.resolve();
    } catch (err) {
      if (err instanceof VoiceError) return Promise.reject(err);
      return Promise.reject(new VoiceError('VOICE_AUDIO_SOURCE_FAILED', `cannot open the microphone: ${(err as Error).message}`, undefined, { cause: err }));
    }
  }

  stop(): Promise<void> {
    const io = this.io;
    this.io = undefined;
    if (!io) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, 2000);
      io.quit(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
