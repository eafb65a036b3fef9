/**
 * A microphone opened remotely is announced (issue 9): real satellite
 * processes in a simulated room. The room is a FIFO the satellite captures
 * from (its audio.command) and a "speaker" that plays the satellite's sink
 * output in real time into a file; everything the speaker plays is echoed
 * back into the microphone at once, over a noise floor, as a satellite's own
 * speaker is heard by its own microphone (it has no echo canceller).
 * Checked: a remote listen plays the listen earcon through the sink before the
 * first audio frame is published, none of the earcon's echo is in the
 * session's audio, and what is said after it is transcribed; the retained status reads listening: true, openedBy:
 * remote while it streams and listening: false after; a wake-word session
 * plays no earcon and says openedBy: wake; privacy.listenEarcon=false streams
 * at once with no earcon.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { listenTone } from '../satellite/playback/earcon';
import { Noise } from './cover-helpers';
import { Collector, jsonOf, type Proc, runNode, silence, speak, startHubProcess, TMP, withTimeout } from './helpers';

const TICK_MS = 20;
const TICK_BYTES = TICK_MS * 32;
/** A real-time "speaker" for the satellite's command sink: appends what it plays to a file at 32 bytes/ms, exits once it has played everything. */
const SPEAKER_JS = `
const fs = require('fs');
const out = fs.openSync(process.argv[2], 'a');
let q = Buffer.alloc(0), t0 = 0, played = 0, ended = false;
process.stdin.on('data', (d) => { if (!t0) t0 = Date.now(); q = Buffer.concat([q, d]); });
process.stdin.on('end', () => { ended = true; });
setInterval(() => {
  if (!t0) return;
  const due = Math.min(q.length, Math.floor((Date.now() - t0) * 32) - played) & ~1;
  if (due > 0) { fs.writeSync(out, q.subarray(0, due)); q = q.subarray(due); played += due; }
  if (ended && q.length === 0) process.exit(0);
}, 5);
`;

function rms(pcm: Buffer): number {
  let s = 0;
  const n = pcm.length >> 1;
  for (let i = 0; i < n; i++) s += pcm.readInt16LE(i * 2) ** 2;
  return n ? Math.sqrt(s / n) : 0;
}

function mix(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i += 2) out.writeInt16LE(Math.max(-32768, Math.min(32767, a.readInt16LE(i) + (i < b.length - 1 ? b.readInt16LE(i) : 0))), i);
  return out;
}

/** The room: the microphone FIFO (noise floor + speech + the speaker's echo), and the speaker's file. */
class Room {
  readonly mic: string;
  readonly speaker: string;
  private fd = -1;
  private fh?: fs.promises.FileHandle;
  private timer?: NodeJS.Timeout;
  private readonly noise: Noise;
  private speech = Buffer.alloc(0);
  private echo = Buffer.alloc(0);
  private heard = 0;
  /** Wall time at which the speaker file first held n bytes, for each n seen. */
  readonly sinkTimes: { bytes: number; at: number }[] = [];
  /** Echo with sound in it written into the microphone: wall times of the first and last such chunk. */
  echoFrom = 0;
  echoTo = 0;

  constructor(readonly name: string, seed: number) {
    this.mic = path.join(TMP, `${name}-mic.fifo`);
    this.speaker = path.join(TMP, `${name}-speaker.pcm`);
    fs.writeFileSync(this.speaker, '');
    fs.rmSync(this.mic, { force: true });
    execFileSync('mkfifo', [this.mic]);
    this.noise = new Noise(seed);
  }

  get sinkCommand(): string {
    const js = path.join(TMP, 'realtime-speaker.js');
    if (!fs.existsSync(js)) fs.writeFileSync(js, SPEAKER_JS);
    return `${process.execPath} ${js} ${this.speaker}`;
  }

  get sinkBytes(): number {
    return fs.statSync(this.speaker).size;
  }

  async open(): Promise<void> {
    const fh = await withTimeout(fs.promises.open(this.mic, 'w'), 30000, `the satellite to open ${this.mic}`);
    this.fh = fh;
    this.fd = fh.fd;
    const t0 = Date.now();
    let written = 0;
    const tick = () => {
      const due = Math.floor((Date.now() - t0) / TICK_MS) + 1;
      for (; written < due; written++) if (!this.writeChunk()) return;
      this.timer = setTimeout(tick, TICK_MS - ((Date.now() - t0) % TICK_MS));
    };
    tick();
  }

  private writeChunk(): boolean {
    // What the speaker played since the last chunk is heard at once.
    const size = this.sinkBytes;
    if (size > this.heard) {
      const fd = fs.openSync(this.speaker, 'r');
      const b = Buffer.alloc(size - this.heard);
      fs.readSync(fd, b, 0, b.length, this.heard);
      fs.closeSync(fd);
      this.heard = size;
      this.echo = Buffer.concat([this.echo, b]);
      this.sinkTimes.push({ bytes: size, at: Date.now() });
    }
    const echo = this.echo.subarray(0, TICK_BYTES);
    this.echo = this.echo.subarray(echo.length);
    const speech = this.speech.subarray(0, TICK_BYTES);
    this.speech = this.speech.subarray(speech.length);
    if (rms(echo) > 1000) {
      if (!this.echoFrom) this.echoFrom = Date.now();
      this.echoTo = Date.now();
    }
    const chunk = this.noise.mix(mix(mix(Buffer.alloc(TICK_BYTES), speech), echo));
    if (this.fd < 0) return false;
    try {
      fs.writeSync(this.fd, chunk);
      return true;
    } catch {
      this.close();
      return false;
    }
  }

  say(pcm: Buffer): void {
    this.speech = Buffer.concat([this.speech, pcm]);
  }

  close(): void {
    clearTimeout(this.timer);
    this.fd = -1;
    void this.fh?.close().catch(() => undefined);
    this.fh = undefined;
    fs.rmSync(this.mic, { force: true });
  }
}

let hub: { proc: Proc; url: string };
let col: Collector;
const sats: Proc[] = [];
const rooms: Room[] = [];

before(async () => {
  hub = await startHubProcess(['--reply-enabled', 'false']);
  col = await Collector.create(hub.url, ['voice/satellite/+/#']);
});
after(async () => {
  for (const r of rooms) r.close();
  await Promise.all(sats.map((s) => s.stop()));
  await col?.end();
  await hub?.proc.stop();
});

/** The command sink plays this much silence before each stream (playback.leadInMs), the earcon included. */
const LEAD_IN_MS = 100;

async function startSatellite(id: string, seed: number, args: string[] = []): Promise<Room> {
  const room = new Room(id, seed);
  rooms.push(room);
  const sat = runNode('satellite/main.js', [
    '--mqtt-url', hub.url, '--satellite-id', id, '--satellite-room', `room-${id}`,
    '--audio-source', 'command', '--audio-command', `cat ${room.mic}`,
    '--playback-sink', 'command', '--playback-command', room.sinkCommand,
    '--vad-no-speech-ms', '1500', '--playback-lead-in-ms', String(LEAD_IN_MS),
    ...args,
  ]);
  sats.push(sat);
  await room.open();
  await sat.waitLog((o) => o.msg === 'satellite listening', 60000);
  // Online, and subscribed to its commands (the status is published after the subscribe).
  await col.next((t, p) => t === `voice/satellite/${id}/status` && jsonOf({ payload: p }).state === 'online', 10000);
  return room;
}

const isFrame = (id: string, sid: string) => (t: string) => t === `voice/satellite/${id}/audio/${sid}`;
const statusAfter = (id: string, from: number, pred: (o: Record<string, unknown>) => boolean, timeoutMs = 10000) =>
  col.next((t, p) => t === `voice/satellite/${id}/status` && pred(jsonOf({ payload: p })), timeoutMs, from);

/** Waits for the session's audio stop, then returns every frame it published (binary, in order of arrival). */
async function sessionAudio(id: string, sid: string, timeoutMs = 15000): Promise<{ stop: Record<string, unknown>; stopIndex: number; frames: { payload: Buffer; at: number }[] }> {
  const stopMsg = await col.next((t) => t === `voice/satellite/${id}/audio/${sid}/stop`, timeoutMs);
  await new Promise((r) => setTimeout(r, 200)); // QoS 0 frames sent before the stop may arrive just after it
  return { stop: jsonOf(stopMsg), stopIndex: col.messages.indexOf(stopMsg), frames: col.messages.filter((m) => isFrame(id, sid)(m.topic)) };
}

test('remote listen: the earcon is played before the microphone streams, none of it reaches the hub, and the status says listening', async (t) => {
  const id = 'privy';
  const room = await startSatellite(id, 11);
  await new Promise((r) => setTimeout(r, 1000)); // the wake engine warms up on the room's noise
  const from = col.messages.length;
  const sinkBefore = room.sinkBytes;
  await col.client.publishAsync(`voice/satellite/${id}/command`, JSON.stringify({ command: 'listen' }), { qos: 1 });
  const wake = jsonOf(await col.next((t) => t === `voice/satellite/${id}/wake`, 10000, from));
  assert.equal(wake.wakeWord, 'listen');
  const sid = String(wake.sessionId);
  const listening = jsonOf(await statusAfter(id, from, (o) => o.listening === true));
  assert.equal(listening.openedBy, 'remote');
  assert.equal(listening.state, 'online');
  const start = jsonOf(await col.next((t) => t === `voice/satellite/${id}/audio/${sid}/start`, 10000, from));
  assert.equal(start.preRollMs, 0, 'nothing the microphone heard before the listen command is sent');

  const first = await col.next(isFrame(id, sid), 10000, from);
  // The whole earcon had reached the sink (the speaker played it) before the first frame was published.
  const earcon = listenTone();
  const tone = Buffer.concat([Buffer.alloc((16000 * 2 * LEAD_IN_MS) / 1000), earcon]);
  const full = room.sinkTimes.find((s) => s.bytes - sinkBefore >= tone.length);
  assert.ok(full, `the earcon reached the sink before the first audio frame (sink got ${room.sinkBytes - sinkBefore} bytes, the earcon is ${tone.length})`);
  assert.ok(full.at < first.at, `earcon fully played at ${full.at}, first frame at ${first.at}`);
  const played = fs.readFileSync(room.speaker).subarray(sinkBefore, sinkBefore + tone.length);
  assert.ok(played.equals(tone), 'the sink played the listen earcon, after its lead-in');
  assert.ok(rms(earcon) > 4000, `the earcon is clearly audible (RMS ${rms(earcon).toFixed(0)})`);
  assert.ok(room.echoFrom > 0, 'the microphone heard the earcon (the room echoes the speaker)');

  // Then the person asks something: the session streams it and the hub transcribes it. None of the audio from
  // before that (frames that arrived before the speech was written) holds the earcon's echo.
  await new Promise((r) => setTimeout(r, 400));
  const saidAt = Date.now();
  room.say(Buffer.concat([speak('what time is it'), silence(200)]));
  const { stop, stopIndex, frames } = await sessionAudio(id, sid);
  assert.equal(stop.reason, 'silence');
  const fin = jsonOf(await col.next((t, p) => t === `voice/satellite/${id}/transcript` && jsonOf({ payload: p }).sessionId === sid, 15000, from));
  assert.match(String(fin.text), /time/, `the hub transcribed the question: "${String(fin.text)}"`);
  const before = frames.filter((f) => f.at < saidAt);
  assert.ok(before.length >= 4, `the session streamed before the question (${before.length} frames)`);
  const loudest = Math.max(...before.map((f) => rms(f.payload)));
  assert.ok(loudest < 500, `no earcon in the audio the hub decodes: loudest frame RMS ${loudest.toFixed(0)} (the earcon's is ${rms(earcon).toFixed(0)}, the noise floor ~60)`);
  assert.ok(first.at > room.echoTo, 'streaming began after the last of the echo was in the microphone');
  t.diagnostic(`earcon in the sink ${full.at - room.echoFrom} ms after its echo began; its echo ended ${first.at - room.echoTo} ms and the sink had it all ${first.at - full.at} ms before the first frame arrived; loudest frame RMS ${loudest.toFixed(0)}`);

  const idle = jsonOf(await statusAfter(id, stopIndex, (o) => o.listening === false));
  assert.equal(idle.openedBy, undefined);
  assert.equal(idle.state, 'online');
});

test('a wake-word session plays no earcon and says openedBy: wake; the status goes back to listening: false', async () => {
  const id = 'woke';
  const room = await startSatellite(id, 13);
  await new Promise((r) => setTimeout(r, 1000));
  const from = col.messages.length;
  const sinkBefore = room.sinkBytes;
  room.say(Buffer.concat([speak('hey jarvis'), silence(300), speak('turn on the lamp')]));
  const wake = jsonOf(await col.next((t) => t === `voice/satellite/${id}/wake`, 20000, from));
  assert.equal(wake.wakeWord, 'hey_jarvis');
  const sid = String(wake.sessionId);
  const listening = jsonOf(await statusAfter(id, from, (o) => o.listening === true));
  assert.equal(listening.openedBy, 'wake');
  const start = jsonOf(await col.next((t) => t === `voice/satellite/${id}/audio/${sid}/start`, 10000, from));
  assert.ok((start.preRollMs as number) > 0, 'a wake-word session keeps its pre-roll');
  const { stopIndex } = await sessionAudio(id, sid);
  await statusAfter(id, stopIndex, (o) => o.listening === false);
  assert.equal(room.sinkBytes, sinkBefore, 'no earcon for a wake word');
});

test('privacy.listenEarcon=false: a remote listen streams at once, without an earcon, and still says listening', async () => {
  const id = 'open';
  const room = await startSatellite(id, 17, ['--privacy-listen-earcon', 'false']);
  await new Promise((r) => setTimeout(r, 1000));
  const from = col.messages.length;
  const sinkBefore = room.sinkBytes;
  await col.client.publishAsync(`voice/satellite/${id}/command`, JSON.stringify({ command: 'listen' }), { qos: 1 });
  const wake = jsonOf(await col.next((t) => t === `voice/satellite/${id}/wake`, 10000, from));
  const sid = String(wake.sessionId);
  const start = jsonOf(await col.next((t) => t === `voice/satellite/${id}/audio/${sid}/start`, 10000, from));
  assert.ok((start.preRollMs as number) > 0, 'the pre-roll is sent as before');
  assert.equal(jsonOf(await statusAfter(id, from, (o) => o.listening === true)).openedBy, 'remote');
  const { stopIndex } = await sessionAudio(id, sid);
  await statusAfter(id, stopIndex, (o) => o.listening === false);
  assert.equal(room.sinkBytes, sinkBefore, 'no earcon');
});
