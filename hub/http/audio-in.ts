/**
 * Audio sent to /api/stt/transcribe, made into what the recognizer takes:
 * 16 kHz mono s16le. A WAV (16-bit PCM, 1 or 2 channels, any rate) is
 * mixed down and resampled; raw PCM must already be 16 kHz mono: s16le as
 * application/octet-stream, big-endian as audio/L16 (RFC 2586).
 */
import { VoiceError } from '../../common/errors';
import { parseWav } from '../../common/wav';

export const RATE = 16000;
export const WAV_TYPES = ['audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave'];
export const RAW_TYPES = ['audio/l16', 'application/octet-stream'];

const bad = (why: string) => new VoiceError('VOICE_HTTP_BAD_AUDIO', why);

const PHASES = 256;

/**
 * Band-limited resampling: a Hann-windowed sinc, cut off just below the lower
 * of the two Nyquist rates, so a 44.1 kHz recording does not fold its highs
 * into the speech band. The filter is tabulated at PHASES fractional
 * positions (no sin or cos per tap: minutes of audio take well under a
 * second), and each output's taps are normalised to unity gain.
 */
function resample(x: Int16Array, from: number): Int16Array {
  if (from === RATE) return x;
  const ratio = RATE / from;
  const cutoff = Math.min(1, ratio) * 0.92; // of the input's Nyquist
  const width = Math.ceil(12 / Math.min(1, ratio)); // input samples each side
  const taps = 2 * width;
  // table[p * taps + j]: the tap for input sample k0 - width + 1 + j when the output lies p/PHASES past k0.
  const table = new Float64Array(PHASES * taps);
  for (let p = 0; p < PHASES; p++) {
    for (let j = 0; j < taps; j++) {
      const d = p / PHASES + width - 1 - j;
      const t = d * cutoff;
      table[p * taps + j] = (t === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t)) * (0.5 + 0.5 * Math.cos((Math.PI * d) / (width + 1)));
    }
  }
  const n = Math.floor(x.length * ratio);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const center = i / ratio;
    const k0 = Math.floor(center);
    const base = Math.min(PHASES - 1, Math.round((center - k0) * PHASES)) * taps;
    let acc = 0;
    let norm = 0;
    for (let j = 0; j < taps; j++) {
      const k = k0 - width + 1 + j;
      if (k < 0 || k >= x.length) continue;
      const h = table[base + j];
      acc += x[k] * h;
      norm += h;
    }
    out[i] = Math.max(-32768, Math.min(32767, Math.round(acc / norm)));
  }
  return out;
}

/** `type`: the request's media type, lower case, without parameters. Returns 16 kHz mono s16le. */
export function toPcm16k(body: Buffer, type: string, params: string): Buffer {
  if (body.length === 0) throw bad('no audio in the request body');
  if (RAW_TYPES.includes(type)) {
    const rate = /rate=(\d+)/i.exec(params)?.[1];
    const channels = /channels=(\d+)/i.exec(params)?.[1];
    if ((rate && Number(rate) !== RATE) || (channels && Number(channels) !== 1)) throw bad(`raw PCM must be 16 kHz mono s16le (got ${type}${params}); send a WAV to have it converted`);
    if (body.length % 2 !== 0) throw bad(`raw PCM of ${body.length} bytes is not whole 16-bit samples`);
    // audio/L16 is big-endian (RFC 2586); application/octet-stream is taken as the recognizer's s16le.
    if (type === 'audio/l16') {
      const le = Buffer.from(body);
      le.swap16();
      return le;
    }
    return body;
  }
  let wav;
  try {
    wav = parseWav(body, 'the WAV body');
  } catch (err) {
    throw bad(err instanceof VoiceError ? err.message : `the WAV body is broken: ${(err as Error).message}`);
  }
  if (wav.bits !== 16) throw bad(`the WAV is ${wav.bits}-bit; send 16-bit PCM`);
  if (wav.channels < 1 || wav.channels > 2) throw bad(`the WAV has ${wav.channels} channels; send mono or stereo`);
  if (wav.rate < 4000 || wav.rate > 192000) throw bad(`the WAV's sample rate ${wav.rate} Hz is not a real one`);
  const frames = Math.floor(wav.data.length / (2 * wav.channels));
  if (frames === 0) throw bad('the WAV holds no samples');
  const mono = new Int16Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < wav.channels; c++) sum += wav.data.readInt16LE((i * wav.channels + c) * 2);
    mono[i] = Math.round(sum / wav.channels);
  }
  const out = resample(mono, wav.rate);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
