/**
 * Audio sinks for replies: the speaker (naudiodon/PortAudio), a command
 * (aplay, reading raw s16le on stdin) and WAV files (tests). A sink plays
 * one stream: start(rate), write(...), end() resolves when the audio has
 * been played out; stop() cuts it off at once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VoiceError } from '../../common/errors';
import { wavFromPcm } from '../../common/wav';
import { splitCommand } from '../audio/command';
import { type PaDevice, resolveDevice } from '../audio/devices';

export interface AudioSink {
  readonly name: string;
  /** Silence the sink plays before each stream's first sample (ms); the stream is heard this much after start. */
  readonly leadInMs: number;
  start(rate: number, streamId: string): Promise<void>;
  write(pcm: Buffer): void;
  /** Resolves once everything written has been heard. */
  end(): Promise<void>;
  /** Stops at once, dropping what is buffered. */
  stop(): void;
}

/**
 * PortAudio frames per callback. naudiodon leaves it unspecified on x86 and asks for the device's low
 * latency (a few ms): under PulseAudio, a satellite busy on its other core then underran mid-sentence
 * and the listener heard clipped or repeated syllables (test/speaker.device.test.ts failed 3 of 5 runs).
 * 512 frames (32 ms at 16 kHz) passed it 5 of 5; 1024 did too, but then the loopback echo test's
 * satellite (microphone and speaker in one process) missed its own wake word in 3 of 11 runs.
 */
const FRAMES_PER_BUFFER = 512;

/** Real-time clock for sinks that cannot report when the audio is out: start + duration written. */
class PlayClock {
  private startedAt = 0;
  private ms = 0;
  constructor(private readonly rate: number) {
    this.startedAt = Date.now();
  }
  add(bytes: number): void {
    this.ms += (bytes / 2 / this.rate) * 1000;
  }
  remainingMs(): number {
    return Math.max(0, this.startedAt + this.ms - Date.now());
  }
}

interface AudioIOStream {
  write(b: Buffer): boolean;
  end(): void;
  start(): void;
  abort(cb?: () => void): void;
  once(event: 'finished' | 'error', fn: (e?: Error) => void): void;
  on(event: 'error', fn: (e: Error) => void): void;
}

interface Naudiodon {
  AudioIO: new (opts: { outOptions: Record<string, unknown> }) => AudioIOStream;
  SampleFormat16Bit: number;
  getDevices(): PaDevice[];
}

export class SpeakerSink implements AudioSink {
  readonly name = 'speaker';
  private io?: AudioIOStream;
  private clock?: PlayClock;
  private done?: Promise<void>;

  constructor(
    private readonly device: string,
    readonly leadInMs = 0,
  ) {}

  start(rate: number): Promise<void> {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const pa = require('naudiodon') as Naudiodon;
      const io = new pa.AudioIO({ outOptions: { channelCount: 1, sampleFormat: pa.SampleFormat16Bit, sampleRate: rate, deviceId: resolveDevice(this.device, () => pa.getDevices(), 'output', 'VOICE_PLAYBACK_FAILED'), closeOnError: false, framesPerBuffer: FRAMES_PER_BUFFER } });
      this.done = new Promise<void>((resolve) => {
        io.once('finished', () => resolve());
        io.once('error', () => resolve());
      });
      io.on('error', () => undefined);
      io.start();
      this.io = io;
      this.clock = new PlayClock(rate);
      this.write(leadIn(rate, this.leadInMs));
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(new VoiceError('VOICE_PLAYBACK_FAILED', `cannot open the speaker: ${(err as Error).message}`, undefined, { cause: err }));
    }
  }

  write(pcm: Buffer): void {
    this.clock?.add(pcm.length);
    this.io?.write(pcm);
  }

  async end(): Promise<void> {
    const io = this.io;
    if (!io) return;
    io.end();
    await this.done;
    // PortAudio has taken the last buffer; wait out what is still queued in the device.
    await new Promise((r) => setTimeout(r, Math.min(this.clock?.remainingMs() ?? 0, 2000)));
    this.io = undefined;
  }

  stop(): void {
    const io = this.io;
    this.io = undefined;
    io?.abort();
  }
}

export class CommandSink implements AudioSink {
  readonly name = 'command';
  private child?: ChildProcess;
  private exited?: Promise<void>;

  constructor(
    private readonly command: string,
    readonly leadInMs = 0,
  ) {}

  start(rate: number): Promise<void> {
    const [cmd, ...args] = splitCommand(this.command.replace(/\{rate\}/g, String(rate)));
    if (!cmd) return Promise.reject(new VoiceError('VOICE_PLAYBACK_FAILED', 'playback.command is empty'));
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
      this.child = child;
      this.exited = new Promise((r) => child.once('close', () => r()));
      child.stdin?.on('error', () => undefined); // killed mid-write on stop
      child.once('spawn', () => {
        this.write(leadIn(rate, this.leadInMs));
        resolve();
      });
      child.once('error', (e) => reject(new VoiceError('VOICE_PLAYBACK_FAILED', `playback command "${cmd}" failed: ${e.message}`, undefined, { cause: e })));
    });
  }

  write(pcm: Buffer): void {
    this.child?.stdin?.write(pcm);
  }

  async end(): Promise<void> {
    this.child?.stdin?.end();
    await this.exited;
    this.child = undefined;
  }

  stop(): void {
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }
}

/** Writes each stream to <dir>/<streamId>.wav, paced like a real speaker. */
export class FileSink implements AudioSink {
  readonly name = 'file';
  readonly leadInMs = 0;
  private chunks: Buffer[] = [];
  private rate = 16000;
  private id = '';
  private clock?: PlayClock;
  private wake?: () => void;
  private startedAt = 0;
  private saved = false;

  constructor(private readonly dir: string) {}

  start(rate: number, streamId: string): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    this.rate = rate;
    this.id = streamId;
    this.chunks = [];
    this.clock = new PlayClock(rate);
    this.startedAt = Date.now();
    this.saved = false;
    return Promise.resolve();
  }

  write(pcm: Buffer): void {
    this.clock?.add(pcm.length);
    this.chunks.push(Buffer.from(pcm));
  }

  /**
   * The stream's WAV (everything written), and beside it when playback began and ended and how (`<id>.json`:
   * startedAt and endedAt in epoch ms; how: ended or stopped; playedMs: what a real speaker had played by then).
   */
  private save(how: 'ended' | 'stopped'): void {
    // Once per stream: a stop wakes the end() that waits, which must not write the stream again as ended.
    if (this.saved) return;
    this.saved = true;
    const pcm = Buffer.concat(this.chunks);
    fs.writeFileSync(path.join(this.dir, `${this.id}.wav`), wavFromPcm(pcm, this.rate));
    const endedAt = Date.now();
    const playedMs = Math.min((pcm.length / 2 / this.rate) * 1000, endedAt - this.startedAt);
    fs.writeFileSync(path.join(this.dir, `${this.id}.json`), JSON.stringify({ startedAt: this.startedAt, endedAt, how, playedMs: Math.round(playedMs) }));
  }

  async end(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      setTimeout(resolve, this.clock?.remainingMs() ?? 0);
    });
    this.wake = undefined;
    this.save('ended');
  }

  stop(): void {
    this.save('stopped');
    this.wake?.();
  }
}

/** Silence of ms at rate, s16 mono. */
function leadIn(rate: number, ms: number): Buffer {
  return Buffer.alloc(Math.round((rate * ms) / 1000) * 2);
}

export function createSink(c: { sink: 'speaker' | 'command' | 'file'; device: string; command: string; dir: string; leadInMs: number }): AudioSink {
  if (c.sink === 'command') return new CommandSink(c.command, c.leadInMs);
  if (c.sink === 'file') return new FileSink(c.dir);
  return new SpeakerSink(c.device, c.leadInMs);
}
