/**
 * Helpers for the cover-* tests: a running noise floor under speech fixtures
 * (as a real microphone has; the same pink floor as noisy()), and a live "microphone" for real satellite
 * processes: the satellite runs `cat <fifo>` as its audio.command, and the
 * test writes 16 kHz s16le PCM into the FIFO at real-time pace, low noise
 * when nothing is said, speech when the test says so. The test decides when
 * to speak from what it has seen on MQTT, like a person would.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { wavFromPcm } from '../common/wav';
import { type Proc, runNode, speak, TMP } from './helpers';
import { BED_SECONDS, FLITE_SPEECH_RMS, noisy, SAMPLES_PER_MS } from './speech-fixtures';

/**
 * A running noise floor for live fixtures: the pink bed of noisy()
 * (test/speech-fixtures.ts) at a fixed level, about 40 dB below flite speech
 * (-55 dBFS), continuing where the last call left off. Each seed starts at
 * its own place in the bed, so every run hears the same floor.
 */
export class Noise {
  private posMs: number;
  /** `snrDb`: how far below typical flite speech the floor lies (40: about -55 dBFS). */
  constructor(
    seed = 1,
    private readonly snrDb = 40,
  ) {
    this.posMs = (seed * 7919) % (BED_SECONDS * 1000);
  }

  /** Adds the noise floor onto 16-bit PCM (a new buffer). */
  mix(pcm: Buffer): Buffer {
    const out = noisy(pcm, { offsetMs: this.posMs, speechRms: FLITE_SPEECH_RMS, snrDb: this.snrDb });
    this.posMs += pcm.length / 2 / SAMPLES_PER_MS;
    return out;
  }

  floor(ms: number): Buffer {
    return this.mix(Buffer.alloc(Math.round(ms * SAMPLES_PER_MS) * 2));
  }
}

/** flite speech over the noise floor. */
export function noisySpeech(text: string, noise = new Noise(7)): Buffer {
  return noise.mix(speak(text));
}

/** Writes PCM as a 16 kHz WAV under TMP. */
export function writeWav(name: string, pcm: Buffer): string {
  const file = path.join(TMP, `${name}.wav`);
  fs.writeFileSync(file, wavFromPcm(pcm));
  return file;
}

const CHUNK_MS = 100;
const CHUNK_BYTES = CHUNK_MS * 32;

/**
 * A live microphone: a FIFO fed at real-time pace. Noise when idle; `say`
 * queues speech (noise mixed in) and resolves when the last of it has been
 * written.
 */
export class LiveMic {
  readonly fifo: string;
  private fd = -1;
  private fh?: fs.promises.FileHandle;
  private timer?: NodeJS.Timeout;
  private queue: { pcm: Buffer; done: () => void }[] = [];
  private readonly noise: Noise;
  private t0 = 0;
  private written = 0;
  private closed = false;

  constructor(name: string, seed = 3) {
    this.fifo = path.join(TMP, `${name}.fifo`);
    try {
      fs.unlinkSync(this.fifo);
    } catch {
      /* not there */
    }
    execFileSync('mkfifo', [this.fifo]);
    this.noise = new Noise(seed);
  }

  /** The satellite's audio.command for this mic. */
  get command(): string {
    return `cat ${this.fifo}`;
  }

  /** Opens the FIFO (resolves once the satellite's cat has opened it) and starts feeding noise. */
  async open(timeoutMs = 20000): Promise<void> {
    const opening = fs.promises.open(this.fifo, 'w');
    let timer: NodeJS.Timeout | undefined;
    const fh = await Promise.race([
      opening,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // Unblock the pending open (it holds a thread-pool thread) by opening the read end ourselves.
          const rd = fs.openSync(this.fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
          void opening.then((h) => h.close()).finally(() => fs.closeSync(rd));
          reject(new Error(`nobody opened ${this.fifo} within ${timeoutMs} ms`));
        }, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.fh = fh;
    this.fd = fh.fd;
    this.t0 = Date.now();
    const tick = () => {
      if (this.closed) return;
      const due = Math.floor((Date.now() - this.t0) / CHUNK_MS) + 1;
      while (this.written < due) {
        this.writeChunk();
        this.written++;
      }
      this.timer = setTimeout(tick, CHUNK_MS - ((Date.now() - this.t0) % CHUNK_MS));
    };
    tick();
  }

  private writeChunk(): void {
    let chunk: Buffer;
    const head = this.queue[0];
    if (head) {
      chunk = head.pcm.subarray(0, CHUNK_BYTES);
      head.pcm = head.pcm.subarray(chunk.length);
      if (chunk.length < CHUNK_BYTES) chunk = Buffer.concat([chunk, Buffer.alloc(CHUNK_BYTES - chunk.length)]);
      chunk = this.noise.mix(chunk);
      if (head.pcm.length === 0) {
        this.queue.shift();
        head.done();
      }
    } else {
      chunk = this.noise.floor(CHUNK_MS);
    }
    try {
      fs.writeSync(this.fd, chunk);
    } catch {
      // The reader went away (satellite stopped): stop feeding.
      this.close();
    }
  }

  /** Queues speech; resolves (with the wall time) when its last chunk has been written. */
  say(pcm: Buffer): Promise<number> {
    return new Promise((resolve) => this.queue.push({ pcm: Buffer.from(pcm), done: () => resolve(Date.now()) }));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    for (const q of this.queue) q.done();
    this.queue = [];
    this.fd = -1;
    void this.fh?.close().catch(() => undefined);
    try {
      fs.unlinkSync(this.fifo);
    } catch {
      /* gone */
    }
  }
}

/** A real satellite process listening on a LiveMic (command source), file sink for replies. */
export function micSatellite(url: string, id: string, mic: LiveMic, args: string[] = []): Proc {
  return runNode('satellite/main.js', [
    '--mqtt-url', url, '--satellite-id', id, '--satellite-room', `room-${id}`,
    '--audio-source', 'command', '--audio-command', mic.command,
    '--playback-sink', 'file', '--playback-dir', path.join(TMP, `play-${id}`),
    ...args,
  ]);
}

/** Starts a satellite on a LiveMic and waits until it listens and the mic is flowing. */
export async function startMicSatellite(url: string, id: string, args: string[] = [], seed = 3): Promise<{ sat: Proc; mic: LiveMic }> {
  const mic = new LiveMic(id, seed);
  const sat = micSatellite(url, id, mic, args);
  try {
    await mic.open();
    await sat.waitLog((o) => o.msg === 'satellite listening', 30000);
  } catch (err) {
    mic.close();
    await sat.stop();
    throw err;
  }
  return { sat, mic };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
