/**
 * Short tones the satellite makes itself, played through the same player as
 * the hub's speech (and so reported on `played` like it): `busy`, when the hub
 * refuses a session with VOICE_BUSY (an `end` command with reason busy): two
 * falling notes, 660 then 440 Hz, 120 ms each, at about -16 dBFS; `listen`,
 * before a session a remote listen command opened streams (privacy.listenEarcon,
 * session/remote-listen.ts): two rising notes, 880 then 1320 Hz, 100 ms each
 * with 20 ms between, at the same level.
 */
import type { Player } from './player';

const RATE = 16000;

function tone(hz: number, ms: number, amplitude: number): Buffer {
  const n = Math.round((RATE * ms) / 1000);
  const fade = Math.round(RATE * 0.01); // 10 ms in and out, no clicks
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    const env = Math.min(1, i / fade, (n - 1 - i) / fade);
    out.writeInt16LE(Math.round(amplitude * env * Math.sin((2 * Math.PI * hz * i) / RATE)), i * 2);
  }
  return out;
}

/** The busy tone, 16 kHz mono s16le. */
export function busyTone(): Buffer {
  const a = 32767 * 10 ** (-13 / 20); // peak -13 dBFS, RMS about -16
  return Buffer.concat([tone(660, 120, a), Buffer.alloc((RATE * 2 * 60) / 1000), tone(440, 120, a)]);
}

/** The listen chime, 16 kHz mono s16le (LISTEN_TONE_MS long). */
export function listenTone(): Buffer {
  const a = 32767 * 10 ** (-13 / 20);
  return Buffer.concat([tone(880, 100, a), Buffer.alloc((RATE * 2 * 20) / 1000), tone(1320, 100, a)]);
}
export const LISTEN_TONE_MS = 220;

/** Plays a tone as a stream of its own, named by the session it is about. */
export function playEarcon(player: Pick<Player, 'onStart' | 'onChunk' | 'onStop'>, sessionId: string, pcm: Buffer): void {
  player.onStart({ sessionId, format: { encoding: 's16le', rate: RATE, channels: 1 }, engine: 'earcon', time: new Date().toISOString() });
  player.onChunk(sessionId, pcm);
  player.onStop({ sessionId, reason: 'done', followUp: false, time: new Date().toISOString() });
}
