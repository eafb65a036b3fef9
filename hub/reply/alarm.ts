/**
 * A finished timer's ringing (bus: ring, from hub/timers): on the satellite
 * that started it, the alarm (three short beeps), the timer's name spoken,
 * then the alarm every CYCLE_MS until timers.ringLimitS. It is one reply
 * stream, so whatever ends a reply ends it at once: the satellite's stop
 * command or wake word (the satellite cuts its playback; the hub hears
 * `played` stopped or the wake), a new transcript, another reply. The hub
 * sends the alarm at most LEAD_MS ahead of what the satellite has played,
 * so an ended ringing leaves little queued anywhere.
 */
import type { TtsFormat } from '../tts/engine';

/** One alarm: three beeps and the pause after them. */
export const CYCLE_MS = 2000;
const BEEP_MS = 150;
const GAP_MS = 100;
const BEEPS = 3;
const HZ = 880;
/** About -10 dBFS: clearly heard across a room over a quiet speaker volume. */
const AMPLITUDE = 0.3 * 32767;
/** How far the hub keeps ahead of the satellite's playback. */
const LEAD_MS = 600;

/** One cycle of the alarm at `rate`, s16le mono: BEEPS beeps of BEEP_MS (5 ms fades), then silence to CYCLE_MS. */
export function alarmCycle(rate: number): Buffer {
  const n = Math.round((CYCLE_MS * rate) / 1000);
  const pcm = Buffer.alloc(n * 2);
  const beep = Math.round((BEEP_MS * rate) / 1000);
  const step = Math.round(((BEEP_MS + GAP_MS) * rate) / 1000);
  const fade = Math.round((5 * rate) / 1000);
  for (let b = 0; b < BEEPS; b++) {
    for (let i = 0; i < beep; i++) {
      const env = Math.min(1, i / fade, (beep - i) / fade);
      pcm.writeInt16LE(Math.round(AMPLITUDE * env * Math.sin((2 * Math.PI * HZ * i) / rate)), (b * step + i) * 2);
    }
  }
  return pcm;
}

/** What ringing needs of the reply manager (hub/reply/manager.ts). */
export interface RingStream {
  readonly signal: AbortSignal;
  /** Queues audio of the stream's format after what is queued (speech included). */
  audio(pcm: Buffer): void;
  /** Queues a sentence to be spoken (nothing without a TTS engine). */
  say(text: string): void;
  /** Resolves when everything queued has been sent. */
  sent(): Promise<void>;
  /** Audio sent on the stream so far, ms. */
  sentMs(): number;
}

/** Rings until `limitMs` has passed or the stream is aborted; the caller finishes the stream. */
export async function ring(stream: RingStream, format: TtsFormat, text: string, limitMs: number): Promise<void> {
  const cycle = alarmCycle(format.rate);
  const started = Date.now();
  for (let i = 0; !stream.signal.aborted && stream.sentMs() < limitMs; i++) {
    stream.audio(cycle);
    if (i === 0) stream.say(text);
    await stream.sent();
    await sleep(stream.sentMs() - (Date.now() - started) - LEAD_MS, stream.signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
