/** Replays a WAV file (converted to 16 kHz mono s16le) at real-time pace, then trailing silence. */
import { readWav, type Wav } from '../../common/wav';
import { VoiceError } from '../../common/errors';
import { BYTES_PER_MS } from '../../common/protocol';
import { BaseSource } from './source';

const CHUNK_MS = 100;

/** Converts 16-bit PCM of any rate and channel count to 16 kHz mono (linear interpolation). */
export function to16kMono(w: Wav): Buffer {
  if (w.bits !== 16) throw new VoiceError('VOICE_AUDIO_SOURCE_FAILED', `WAV must be 16-bit PCM, got ${w.bits}-bit`);
  const frames = Math.floor(w.data.length / (2 * w.channels));
  const mono = new Float64Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < w.channels; c++) sum += w.data.readInt16LE((i * w.channels + c) * 2);
    mono[i] = sum / w.channels;
  }
  if (w.rate === 16000) {
    const out = Buffer.alloc(frames * 2);
    for (let i = 0; i < frames; i++) out.writeInt16LE(Math.round(mono[i]), i * 2);
    return out;
  }
  const n = Math.floor((frames * 16000) / w.rate);
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    const pos = (i * w.rate) / 16000;
    const i0 = Math.floor(pos);
    const a = mono[i0] ?? 0;
    const b = mono[i0 + 1] ?? a;
    const v = Math.round(a + (b - a) * (pos - i0));
    out.writeInt16LE(Math.max(-32768, Math.min(32767, v)), i * 2);
  }
  return out;
}

export class WavSource extends BaseSource {
  readonly name = 'wav';
  private timer?: NodeJS.Timeout;
  private pcm = Buffer.alloc(0);

  constructor(
    private readonly file: string,
    private readonly realtime: boolean,
    private readonly trailingSilenceMs: number,
  ) {
    super();
  }

  start(): Promise<void> {
    if (!this.file) return Promise.reject(new VoiceError('VOICE_AUDIO_SOURCE_FAILED', 'audio.source is wav but audio.wav is empty'));
    try {
      this.pcm = Buffer.concat([to16kMono(readWav(this.file)), Buffer.alloc(this.trailingSilenceMs * BYTES_PER_MS)]);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const chunk = CHUNK_MS * BYTES_PER_MS;
    let off = 0;
    const t0 = Date.now();
    const tick = () => {
      // Emit everything that is due by now, so timer jitter never slows the stream.
      const due = this.realtime ? Math.min(this.pcm.length, Math.floor((Date.now() - t0) / CHUNK_MS + 1) * chunk) : Math.min(this.pcm.length, off + chunk * 25);
      while (off < due) {
        this.emit('data', this.pcm.subarray(off, Math.min(off + chunk, this.pcm.length)));
        off += chunk;
      }
      if (off >= this.pcm.length) {
        this.timer = undefined;
        this.emit('end');
        return;
      }
      this.timer = setTimeout(tick, this.realtime ? CHUNK_MS - ((Date.now() - t0) % CHUNK_MS) : 0);
    };
    this.timer = setTimeout(tick, 0);
    return Promise.resolve();
  }

  stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    return Promise.resolve();
  }
}
