/**
 * Several rooms hearing one person: real satellite processes, each on a
 * microphone of its own (a FIFO its `cat` reads), all fed by one clock at
 * real-time pace so that what the test offsets is the only offset. Each
 * microphone has its own noise floor (level and place in the pink bed);
 * speech reaches each at its own gain (sox `vol`) and start offset.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BURST_COMMANDS } from './burst-harness';
import { Noise, sleep } from './cover-helpers';
import { type Collector, jsonOf, type Proc, runNode, TMP, wer } from './helpers';
import { SAMPLES_PER_MS, speak, zeros } from './speech-fixtures';

const CHUNK_MS = 100;
const CHUNK_BYTES = CHUNK_MS * 32;

/** PCM at a gain, mixed by sox (16 kHz s16le mono in and out). */
export function withGain(pcm: Buffer, db: number): Buffer {
  if (db === 0) return Buffer.from(pcm);
  const raw = ['-t', 'raw', '-r', '16000', '-e', 'signed-integer', '-b', '16', '-c', '1'];
  return execFileSync('sox', [...raw, '-', ...raw, '-', 'vol', `${db}dB`], { input: pcm, maxBuffer: pcm.length * 2 + 1024 });
}

interface Mic {
  fifo: string;
  /** Kept so that it is not closed when collected. */
  fh?: fs.promises.FileHandle;
  fd: number;
  noise: Noise;
  /** Speech still to write (noise is mixed in as it goes). */
  pending: Buffer;
}

export class RoomMics {
  private readonly mics: Mic[];
  private timer?: NodeJS.Timeout;
  private t0 = 0;
  private written = 0;
  private closed = false;
  private waiters: (() => void)[] = [];

  /** One microphone per name; `floorSnrDb[i]`: its noise floor, dB below typical flite speech. */
  constructor(names: string[], floorSnrDb: number[]) {
    this.mics = names.map((n, i) => {
      const fifo = path.join(TMP, `${n}-room.fifo`);
      fs.rmSync(fifo, { force: true });
      execFileSync('mkfifo', [fifo]);
      return { fifo, fd: -1, noise: new Noise(11 + i * 17, floorSnrDb[i]), pending: Buffer.alloc(0) };
    });
  }

  command(i: number): string {
    return `cat ${this.mics[i].fifo}`;
  }

  /** Opens every FIFO (each satellite's cat must be waiting for it: an open blocks a libuv thread until then) and starts the clock. */
  async open(): Promise<void> {
    const handles = await Promise.all(this.mics.map((m) => fs.promises.open(m.fifo, 'w')));
    handles.forEach((h, i) => {
      this.mics[i].fh = h;
      this.mics[i].fd = h.fd;
    });
    this.t0 = Date.now();
    const tick = () => {
      if (this.closed) return;
      const due = Math.floor((Date.now() - this.t0) / CHUNK_MS) + 1;
      while (this.written < due) {
        for (const m of this.mics) this.writeChunk(m);
        this.written++;
        if (this.mics.every((m) => m.pending.length === 0)) for (const w of this.waiters.splice(0)) w();
      }
      this.timer = setTimeout(tick, CHUNK_MS - ((Date.now() - this.t0) % CHUNK_MS));
    };
    tick();
  }

  private writeChunk(m: Mic): void {
    let chunk = m.pending.subarray(0, CHUNK_BYTES);
    m.pending = m.pending.subarray(chunk.length);
    if (chunk.length < CHUNK_BYTES) chunk = Buffer.concat([chunk, Buffer.alloc(CHUNK_BYTES - chunk.length)]);
    if (m.fd < 0) return;
    try {
      fs.writeSync(m.fd, m.noise.mix(chunk));
    } catch {
      /* the satellite is gone */
    }
  }

  /**
   * Speech reaches microphone i at `gainDb[i]` (null: it hears nothing) and
   * `offsetMs[i]` after the first; all start on the same tick. Resolves when
   * every microphone has had its speech.
   */
  say(pcm: Buffer, gainDb: (number | null)[], offsetMs: number[]): Promise<void> {
    this.mics.forEach((m, i) => {
      const g = gainDb[i];
      if (g === null || g === undefined) return;
      const lead = Buffer.alloc(Math.round((offsetMs[i] ?? 0) * SAMPLES_PER_MS) * 2);
      m.pending = Buffer.concat([m.pending, lead, withGain(pcm, g)]);
    });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.waiters.splice(0)) w();
    for (const m of this.mics) {
      m.fd = -1;
      void m.fh?.close().catch(() => undefined);
      fs.rmSync(m.fifo, { force: true });
    }
  }
}

/** A real satellite process on microphone i of `mics`, replies to WAV files. */
export function roomSatellite(url: string, id: string, mics: RoomMics, i: number, args: string[] = []): Proc {
  return runNode('satellite/main.js', [
    '--mqtt-url', url, '--satellite-id', id, '--satellite-room', `room-${id}`,
    '--audio-source', 'command', '--audio-command', mics.command(i),
    '--playback-sink', 'file', '--playback-dir', path.join(TMP, `play-${id}`),
    ...args,
  ]);
}

/** Starts the satellites and the microphones; resolves when every satellite listens. */
export async function startRooms(url: string, ids: string[], floorSnrDb: number[], args: (id: string) => string[] = () => []): Promise<{ mics: RoomMics; sats: Proc[] }> {
  const mics = new RoomMics(ids, floorSnrDb);
  const sats = ids.map((id, i) => roomSatellite(url, id, mics, i, args(id)));
  // Each satellite's cat waits for its FIFO's writer by then. Opened the other way round, the blocked opens
  // would hold every libuv thread, and an in-process hub could not check the satellites' secrets to let them in.
  await Promise.all(sats.map((s) => s.waitLog((o) => o.msg === 'satellite listening', 30000)));
  await mics.open();
  await sleep(1500); // the wake engines warm up on the floor, and the meters learn it
  return { mics, sats };
}

/** Commands pocketsphinx alone transcribes word for word from flite over the noise bed (test/burst-harness.ts). */
export const ARBITRATION_COMMANDS: readonly string[] = BURST_COMMANDS.slice(0, 4);

/** A repeatable pseudo-random sequence in [0, 1) (mulberry32). */
export function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Trial {
  /** The satellite that should answer (the loudest). */
  intended: string;
  gains: (number | null)[];
  offsets: number[];
  /** The decision on voice/hub/arbitration (undefined with arbitration off). */
  decision?: Record<string, unknown>;
  /** The satellite that answered: the decision's winner, or with arbitration off the intended one. */
  winner: string;
  /** What went against the contract in this trial (empty when all is well). */
  problems: string[];
  /** Late duplicates refused in this trial (each a loss in the registry). */
  late: number;
  /** The winner's transcript is not the command (the recognizer's miss, or speech lost while it waited). */
  misheard?: string;
  /** The answering session's wake, first partial, audio stop and final, as the collector saw them (Date.now()). */
  at: { wake: number; firstPartial?: number; stop?: number; final: number };
}

const isStream = (t: string) => /\/(audio|tts)\/[^/]+(\/(start|stop))?$/.test(t);

/**
 * One person says "hey jarvis" and `command`; microphone i hears it at
 * gains[i] (null: not at all), offsets[i] ms late. Waits for the answer (the
 * final transcript, and with `reply` its playback), then checks what a
 * listener may rely on: one decision, one final and (with replies) one reply,
 * from the winner; every loser told end arbitration-lost, stopping on it,
 * publishing no partial, transcript, reply or error.
 */
export async function arbitrationTrial(
  col: Collector,
  mics: RoomMics,
  ids: string[],
  o: { intended: number; gains: (number | null)[]; offsets: number[]; command: string; arbitrated: boolean; reply: boolean },
): Promise<Trial> {
  const from = col.messages.length;
  const utterance = Buffer.concat([speak('hey jarvis'), zeros(300), speak(o.command)]);
  await mics.say(utterance, o.gains, o.offsets);
  const problems: string[] = [];
  let decision: Record<string, unknown> | undefined;
  let late = 0;
  let winner = ids[o.intended];
  let sid: string;
  if (o.arbitrated) {
    decision = jsonOf(await col.next((t, p) => t === 'voice/hub/arbitration' && jsonOf({ payload: p }).closedBy !== 'late-duplicate', 10000, from));
    winner = String(decision.winner);
    sid = String(decision.winnerSessionId);
  } else {
    sid = String(jsonOf(await col.next((t) => t === `voice/satellite/${winner}/wake`, 10000, from)).sessionId);
  }
  const final = await col.next((t, p) => t === `voice/satellite/${winner}/transcript` && jsonOf({ payload: p }).sessionId === sid, 20000, from);
  if (o.reply) await col.next((t, p) => t === `voice/satellite/${winner}/played` && jsonOf({ payload: p }).sessionId === sid, 20000, from);
  await sleep(2000); // past the losers' refractory time; the floor is heard again
  const all = col.messages.slice(from);
  const seen = all.filter((m) => !isStream(m.topic));
  const mine = (t: string) => all.find((m) => m.topic === t && m.payload.toString().includes(sid));
  const at = {
    wake: mine(`voice/satellite/${winner}/wake`)?.at ?? Number.NaN,
    firstPartial: mine(`voice/satellite/${winner}/transcript/partial`)?.at,
    stop: all.find((m) => m.topic === `voice/satellite/${winner}/audio/${sid}/stop`)?.at,
    final: final.at,
  };
  const finals = seen.filter((m) => /\/transcript$/.test(m.topic));
  if (finals.length !== 1) problems.push(`${finals.length} final transcripts`);
  // Nothing of the winner's speech was lost while it waited: the hub decoded every byte the satellite sent, and heard the command.
  const fin = jsonOf(final);
  const stopMsg = all.find((m) => m.topic === `voice/satellite/${winner}/audio/${sid}/stop`);
  const sent = stopMsg ? Number(jsonOf(stopMsg).audioMs) : Number.NaN;
  const decoded = Number((fin.timings as { audioMs: number }).audioMs);
  if (!(Math.abs(sent - decoded) <= 100)) problems.push(`the satellite sent ${sent} ms of audio, the hub decoded ${decoded} ms`);
  const w = wer(o.command, String(fin.text)).rate;
  const misheard = w > 0.5 ? `transcript "${String(fin.text)}" for "${o.command}" (WER ${w.toFixed(2)})` : undefined;
  if (o.reply) {
    const replies = seen.filter((m) => /\/reply$/.test(m.topic));
    if (replies.length !== 1 || jsonOf(replies[0]).sessionId !== sid) problems.push(`${replies.length} replies`);
  }
  if (decision) {
    // One decision for the utterance; a satellite whose wake came after its window is a late duplicate, which loses the same way.
    const decisions = seen.filter((m) => m.topic === 'voice/hub/arbitration').map((m) => jsonOf(m));
    const main = decisions.filter((d) => d.closedBy !== 'late-duplicate');
    if (main.length !== 1) problems.push(`${main.length} decisions`);
    const lateOnes = decisions.filter((d) => d.closedBy === 'late-duplicate');
    if (lateOnes.some((d) => d.winnerSessionId !== sid)) problems.push('a late duplicate of another session');
    late = lateOnes.length;
    const candidates = decisions.flatMap((d) => d.candidates as { satellite: string; sessionId: string; won: boolean }[]);
    for (const l of candidates.filter((c) => !c.won)) {
      const its = seen.filter((m) => m.payload.toString().includes(l.sessionId));
      if (its.some((m) => /\/(transcript|transcript\/partial|reply|reply\/partial)$/.test(m.topic))) problems.push(`loser ${l.satellite} published a transcript or reply`);
      const end = its.find((m) => m.topic === `voice/satellite/${l.satellite}/command`);
      if (!end || jsonOf(end).reason !== 'arbitration-lost') problems.push(`loser ${l.satellite} was not told end arbitration-lost`);
      const stop = all.find((m) => m.topic === `voice/satellite/${l.satellite}/audio/${l.sessionId}/stop`);
      if (!stop || jsonOf(stop).reason !== 'command') problems.push(`loser ${l.satellite} did not stop streaming on the command`);
      if (seen.some((m) => m.topic === `voice/satellite/${l.satellite}/error`)) problems.push(`loser ${l.satellite} got an error`);
    }
    for (const c of candidates) if (o.gains[ids.indexOf(c.satellite)] === null) problems.push(`${c.satellite} heard nothing but was a candidate`);
  }
  return { intended: ids[o.intended], gains: o.gains, offsets: o.offsets, decision, winner, problems, late, misheard, at };
}
