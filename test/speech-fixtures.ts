/**
 * Speech fixtures: flite speech as 16 kHz mono s16le PCM, energy trimming,
 * and one repeatable noise floor (sox pink noise) that `noisy` lays under
 * any fixture at a chosen signal-to-noise ratio. Everything here is
 * deterministic: the same arguments give the same bytes on every run.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readWav } from '../common/wav';
import { to16kMono } from '../satellite/audio/wav';

export const RATE = 16000;
/** Samples per ms at 16 kHz. */
export const SAMPLES_PER_MS = RATE / 1000;

let tmpDir: string | undefined;
function tmp(): string {
  tmpDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'voice-speech-'));
  return tmpDir;
}

const spoken = new Map<string, Buffer>();

/** Speaks text with a flite voice (`flite -lv`: slt, rms, awb, kal16, kal...); returns 16 kHz mono s16le PCM. Cached per process. */
export function speak(text: string, voice = 'slt'): Buffer {
  const key = `${voice}\n${text}`;
  let pcm = spoken.get(key);
  if (!pcm) {
    const out = path.join(tmp(), `flite-${process.pid}-${Math.random().toString(36).slice(2)}.wav`);
    execFileSync('flite', ['-voice', voice, '-t', text, '-o', out]);
    pcm = to16kMono(readWav(out));
    fs.unlinkSync(out);
    spoken.set(key, pcm);
  }
  return Buffer.from(pcm);
}

/** Digital silence, 16 kHz s16le. */
export function zeros(ms: number): Buffer {
  return Buffer.alloc(Math.round(ms * SAMPLES_PER_MS) * 2);
}

/** RMS of each `frameMs` frame of s16le PCM (the last partial frame included). */
export function frameRms(pcm: Buffer, frameMs: number): number[] {
  const n = Math.floor(pcm.length / 2);
  const size = Math.round(frameMs * SAMPLES_PER_MS);
  const out: number[] = [];
  for (let s = 0; s < n; s += size) {
    const e = Math.min(n, s + size);
    let sum = 0;
    for (let i = s; i < e; i++) {
      const v = pcm.readInt16LE(i * 2);
      sum += v * v;
    }
    out.push(Math.sqrt(sum / (e - s)));
  }
  return out;
}

/**
 * Speech level of PCM (linear RMS, int16 units): the RMS over the 20 ms
 * frames whose own RMS is within 30 dB of the loudest frame, so pauses and
 * silence around the speech do not lower it. 0 for all-silent PCM.
 */
export function speechLevel(pcm: Buffer): number {
  const rms = frameRms(pcm, 20);
  const max = Math.max(0, ...rms);
  if (max === 0) return 0;
  const floor = max * 10 ** (-30 / 20);
  const kept = rms.filter((r) => r >= floor);
  return Math.sqrt(kept.reduce((a, r) => a + r * r, 0) / kept.length);
}

/**
 * Where the speech in flite output begins and ends, in samples: the first
 * and last 10 ms frame whose RMS is within `withinDb` (40) dB of the loudest
 * frame. flite pads its output with ~100-300 ms of near-silence (RMS 1-50).
 */
export function speechBounds(pcm: Buffer, withinDb = 40): { start: number; end: number } {
  const rms = frameRms(pcm, 10);
  const max = Math.max(0, ...rms);
  const n = Math.floor(pcm.length / 2);
  if (max === 0) return { start: 0, end: 0 };
  const floor = max * 10 ** (-withinDb / 20);
  const first = rms.findIndex((r) => r >= floor);
  let last = rms.length - 1;
  while (last > first && rms[last] < floor) last--;
  const size = 10 * SAMPLES_PER_MS;
  return { start: first * size, end: Math.min(n, (last + 1) * size) };
}

/** flite speech trimmed to its speech bounds (see speechBounds). */
export function speakTrimmed(text: string, voice = 'slt'): Buffer {
  const pcm = speak(text, voice);
  const b = speechBounds(pcm);
  return Buffer.from(pcm.subarray(b.start * 2, b.end * 2));
}

/** Length of the pink-noise bed, seconds. */
export const BED_SECONDS = 120;

let bed: Float64Array | undefined;

/**
 * The noise bed: BED_SECONDS of sox pink noise (`sox -R`: fixed seed, the
 * same bytes on every run), normalised to RMS 1. Made once per process.
 */
export function pinkBed(): Float64Array {
  if (bed) return bed;
  const raw = execFileSync('sox', ['-R', '-n', '-r', String(RATE), '-c', '1', '-b', '16', '-e', 'signed-integer', '-t', 'raw', '-', 'synth', String(BED_SECONDS), 'pinknoise'], {
    maxBuffer: RATE * 2 * BED_SECONDS + 1024,
  });
  const n = Math.floor(raw.length / 2);
  const out = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    out[i] = raw.readInt16LE(i * 2);
    sum += out[i] * out[i];
  }
  const rms = Math.sqrt(sum / n);
  for (let i = 0; i < n; i++) out[i] /= rms;
  bed = out;
  return out;
}

/** Typical flite speech level, -15 dBFS (RMS ~5800): the reference for all-silent PCM. */
export const FLITE_SPEECH_RMS = 32768 * 10 ** (-15 / 20);

export interface NoisyOptions {
  /** Noise level below the speech level, dB (default 40). */
  snrDb?: number;
  /** Where in the bed the noise starts, ms (wraps around; default 0). Fractions of a sample are rounded. */
  offsetMs?: number;
  /** Speech level to measure the SNR against (RMS, int16 units) instead of speechLevel(pcm): to give two fixtures the same floor. */
  speechRms?: number;
}

/** The noise RMS `noisy` uses for `pcm` with these options. */
export function noiseRms(pcm: Buffer, opts: NoisyOptions = {}): number {
  const level = opts.speechRms ?? speechLevel(pcm);
  return (level > 0 ? level : FLITE_SPEECH_RMS) * 10 ** (-(opts.snrDb ?? 40) / 20);
}

/**
 * `pcm` with the pink bed mixed under it (a new buffer, same length): the
 * bed from `offsetMs`, wrapping around, scaled to `snrDb` below the speech
 * level of `pcm` (speechLevel; for all-silent PCM the level of typical flite
 * speech, FLITE_SPEECH_RMS, so about -55 dBFS at the default 40 dB), rounded and clipped to int16.
 */
export function noisy(pcm: Buffer, opts: NoisyOptions = {}): Buffer {
  const b = pinkBed();
  const gain = noiseRms(pcm, opts);
  const n = Math.floor(pcm.length / 2);
  const start = ((Math.round((opts.offsetMs ?? 0) * SAMPLES_PER_MS) % b.length) + b.length) % b.length;
  const out = Buffer.alloc(n * 2);
  for (let i = 0, j = start; i < n; i++, j = j + 1 === b.length ? 0 : j + 1) {
    const v = Math.round(pcm.readInt16LE(i * 2) + gain * b[j]);
    out.writeInt16LE(v > 32767 ? 32767 : v < -32768 ? -32768 : v, i * 2);
  }
  return out;
}
