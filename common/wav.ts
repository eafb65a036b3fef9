import * as fs from 'node:fs';
import { VoiceError } from './errors';

export interface Wav {
  rate: number;
  channels: number;
  bits: number;
  /** Interleaved little-endian PCM bytes. */
  data: Buffer;
}

/** Parses a PCM WAV file (RIFF, format 1). Throws VOICE_AUDIO_SOURCE_FAILED on anything else. */
export function parseWav(buf: Buffer, name = 'WAV'): Wav {
  const fail = (why: string) => new VoiceError('VOICE_AUDIO_SOURCE_FAILED', `${name}: ${why}`);
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw fail('not a RIFF/WAVE file');
  let off = 12;
  let fmt: { rate: number; channels: number; bits: number } | null = null;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    let size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      if (buf.readUInt16LE(body) !== 1 && buf.readUInt16LE(body) !== 0xfffe) throw fail('only PCM WAV is supported');
      fmt = { channels: buf.readUInt16LE(body + 2), rate: buf.readUInt32LE(body + 4), bits: buf.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!fmt) throw fail('data chunk before fmt chunk');
      if (size === 0xffffffff || body + size > buf.length) size = buf.length - body; // streamed WAVs
      return { ...fmt, data: buf.subarray(body, body + size) };
    }
    off = body + size + (size % 2);
  }
  throw fail('no data chunk');
}

export function readWav(file: string): Wav {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new VoiceError('VOICE_AUDIO_SOURCE_FAILED', `cannot read WAV ${file}: ${(err as Error).message}`, undefined, { cause: err });
  }
  return parseWav(buf, file);
}

/** Builds a 16-bit mono WAV file around raw PCM. */
export function wavFromPcm(pcm: Buffer, rate = 16000): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + pcm.length, 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([h, pcm]);
}

/** Copies a byte buffer of s16le PCM into an Int16Array (alignment-safe). */
export function pcmToInt16(buf: Buffer): Int16Array {
  const out = new Int16Array(buf.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = buf.readInt16LE(i * 2);
  return out;
}
