/** flite (Debian `flite`), spawned per sentence; its WAV on stdout is parsed and chunked. */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VoiceError } from '../../common/errors';
import { parseWav } from '../../common/wav';
import { chunkBytes, type TtsEngine, type TtsFormat } from './engine';

export class FliteEngine implements TtsEngine {
  readonly name = 'flite';
  format: TtsFormat = { encoding: 's16le', rate: 16000, channels: 1 };

  constructor(
    private readonly binary: string,
    private readonly voice: string,
    /** Where flite writes its WAV files (the TTS process gives its own directory, which the hub removes if the process dies). */
    private readonly dir = os.tmpdir(),
  ) {}

  async start(): Promise<void> {
    // Probe once: a missing binary or voice is a start-up error, not a per-reply one.
    const wav = await this.run('ready', new AbortController().signal);
    this.format = { encoding: 's16le', rate: this.parse(wav).rate, channels: 1 };
  }

  private parse(wav: Buffer) {
    try {
      return parseWav(wav, 'flite output');
    } catch (err) {
      throw new VoiceError('VOICE_TTS_FAILED', (err as Error).message, undefined, { cause: err });
    }
  }

  private run(text: string, signal: AbortSignal): Promise<Buffer> {
    // flite writes a file (it cannot write WAV to the socket Node gives a child as stdout).
    const file = path.join(this.dir, `voice-hub-flite-${process.pid}-${randomUUID()}.wav`);
    const read = (): Buffer => {
      try {
        return fs.readFileSync(file);
      } finally {
        fs.rmSync(file, { force: true });
      }
    };
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, ['-voice', this.voice, '-t', text, '-o', file], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      const onAbort = () => child.kill('SIGKILL');
      signal.addEventListener('abort', onAbort, { once: true });
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('error', (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(new VoiceError('VOICE_TTS_FAILED', `cannot run ${this.binary}: ${e.message}; install it with: apt-get install flite`, undefined, { cause: e }));
      });
      child.once('close', (code) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) {
          fs.rmSync(file, { force: true });
          resolve(Buffer.alloc(0));
        } else if (code !== 0) {
          fs.rmSync(file, { force: true });
          reject(new VoiceError('VOICE_TTS_FAILED', `flite exited with code ${code}: ${err.trim().slice(0, 300)}`));
        } else {
          try {
            resolve(read());
          } catch (e) {
            reject(new VoiceError('VOICE_TTS_FAILED', `flite wrote no audio: ${(e as Error).message}`));
          }
        }
      });
    });
  }

  async *synthesize(text: string, signal: AbortSignal): AsyncIterable<Buffer> {
    const wav = await this.run(text, signal);
    if (signal.aborted || wav.length === 0) return;
    const pcm = this.parse(wav).data;
    const step = chunkBytes(this.format.rate);
    for (let off = 0; off < pcm.length; off += step) {
      if (signal.aborted) return;
      yield pcm.subarray(off, Math.min(off + step, pcm.length));
    }
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}
