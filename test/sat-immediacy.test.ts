/**
 * Satellite commands act at once, never behind audio frames: the real
 * listener, frame queue, state and streamer, with a wake engine and a VAD
 * whose results the test releases by hand (standing in for slow ONNX).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { type CommandPayload, topics } from '../common/protocol';
import { applyCommand } from '../satellite/commands';
import { PreRoll } from '../satellite/preroll';
import { FrameQueue } from '../satellite/session/frame-queue';
import { Listener, type PlayerView } from '../satellite/session/listener';
import { RemoteListen } from '../satellite/session/remote-listen';
import { SessionStreamer } from '../satellite/session/streamer';
import { SatelliteState } from '../satellite/state';
import type { WakeDetection, WakeEngine } from '../satellite/wake/engine';
import { WakeGate } from '../satellite/wake/gate';
import { LevelMeter } from '../satellite/wake/level';

const FRAME = 1280; // 80 ms

/** Calls whose results the test hands out. */
class Pending<T> {
  calls: ((v: T) => void)[] = [];
  next(): Promise<T> {
    return new Promise((resolve) => this.calls.push(resolve));
  }
  resolve(v: T): void {
    const r = this.calls.shift();
    assert.ok(r, 'a call is waiting');
    r(v);
  }
}

function rig(opts: { noSpeechMs?: number } = {}) {
  const wakeCalls = new Pending<WakeDetection | null>();
  const vadCalls = new Pending<number[]>();
  const wake: WakeEngine = { name: 'fake', frameLength: FRAME, start: () => Promise.resolve(), stop: () => Promise.resolve(), reset: () => undefined, process: () => wakeCalls.next() };
  const vad = { reset: () => undefined, process: () => vadCalls.next() };
  const sent: { topic: string; payload: string | Buffer }[] = [];
  const t = topics('voice');
  const state = new SatelliteState();
  const player: PlayerView = { playing: false, sessionId: null, stop: () => undefined };
  const log = pino({ level: 'silent' });
  const listener = new Listener({
    config: { vad: { threshold: 0.5, silenceMs: 400, maxUtteranceMs: 12000, noSpeechMs: opts.noSpeechMs ?? 4000, preRollMs: 300, wakeGapMs: 96, wakeTailMaxMs: 400 }, followUp: { listenMs: 5000 } },
    log,
    state,
    gate: new WakeGate({ settings: { refractoryMs: 0, duringPlayback: 'raise', playbackTailMs: 0, playbackThreshold: 0.9 }, canRaise: true, now: () => 0 }),
    preRoll: new PreRoll(300),
    levels: new LevelMeter(),
    streamer: new SessionStreamer({ satellite: 'sat', room: 'r', calibrationDb: 0, topics: t, publish: (topic, payload) => sent.push({ topic, payload }) }),
    wake,
    vad,
    player,
  });
  const queue = new FrameQueue({ frameLength: FRAME, maxQueued: Infinity, log, onError: (e) => assert.fail(String(e)), handle: (f) => listener.handleFrame(f) });
  // Without the listen earcon (privacy.listenEarcon false): listen streams at once, pre-roll first (test/listen-privacy.test.ts has the earcon).
  const remote = new RemoteListen({ earcon: false, listener, player: { onStart: () => undefined, onChunk: () => undefined, onStop: () => undefined }, report: () => undefined, log });
  const cmd = (c: CommandPayload) => applyCommand(c, { state, listener, player, publishStatus: () => undefined, listen: () => remote.open(), busy: () => undefined, setVolume: () => undefined, setWakeThreshold: () => undefined });
  const kinds = () => sent.map((m) => (m.topic === t.wake('sat') ? 'wake' : m.topic.endsWith('/start') ? 'start' : m.topic.endsWith('/stop') ? 'stop' : 'audio'));
  const json = (i: number) => JSON.parse(String(sent[i].payload)) as Record<string, unknown>;
  return { wakeCalls, vadCalls, sent, state, listener, queue, cmd, kinds, json, frame: () => queue.write(Buffer.alloc(FRAME * 2)) };
}

/** Lets pending promise callbacks run. */
const settle = () => new Promise((r) => setImmediate(r));

test('listen opens a session at once (wake, audio start, pre-roll) while frames wait in the queue', async () => {
  const r = rig();
  // Four frames reach the pre-roll (the wake engine finds nothing)...
  for (let i = 0; i < 4; i++) {
    r.frame();
    await settle();
    r.wakeCalls.resolve(null);
  }
  await r.queue.idle();
  // ...then a fifth is stuck in the wake engine and five more wait behind it.
  for (let i = 0; i < 6; i++) r.frame();
  await settle();
  assert.equal(r.queue.length, 5);
  r.cmd({ command: 'listen' });
  // Published before this line runs, without a single queued frame processed.
  assert.deepEqual(r.kinds(), ['wake', 'start', 'audio', 'audio', 'audio', 'audio']);
  assert.equal(r.json(0).wakeWord, 'listen');
  assert.equal(r.json(1).preRollMs, 320);
  assert.equal(r.json(1).vad, true, 'the satellite says it ends utterances itself');
  assert.equal(r.queue.length, 5);
  assert.equal(r.state.kind, 'streaming');
  // The stuck frame's late detection does not act on the new state; the waiting frames stream into the session.
  r.wakeCalls.resolve({ keyword: 'hey_jarvis', score: 0.99 });
  await settle();
  assert.equal(r.kinds().filter((k) => k === 'wake').length, 1);
});

test('stop during a frame\'s VAD: the stop is published at once, before that frame\'s result', async () => {
  const r = rig();
  const sid = r.listener.openSession('listen', 1);
  r.frame();
  await settle();
  assert.equal(r.vadCalls.calls.length, 1, 'the frame is in the VAD');
  r.cmd({ command: 'stop' });
  const stops = r.sent.filter((m) => m.topic.endsWith('/stop'));
  assert.equal(stops.length, 1, 'stop published synchronously');
  assert.equal((JSON.parse(String(stops[0].payload)) as { reason: string }).reason, 'command');
  assert.equal(r.state.kind, 'idle');
  r.vadCalls.resolve([0.9, 0.9]);
  await r.queue.idle();
  assert.equal(r.sent.filter((m) => m.topic.endsWith('/stop')).length, 1);
  assert.ok(sid);
});

test('a frame whose VAD finishes after stop + listen does not act on the new session', async () => {
  // noSpeechMs 80: the old session's frame, once through the VAD, would say "no-speech".
  const r = rig({ noSpeechMs: 80 });
  const first = r.listener.openSession('listen', 1);
  r.frame();
  await settle();
  r.cmd({ command: 'stop' });
  r.cmd({ command: 'listen' });
  const second = r.state.session?.id;
  assert.ok(second && second !== first);
  r.vadCalls.resolve([0, 0]);
  await settle();
  assert.equal(r.state.session?.id, second, 'the new session is still live');
  assert.equal(r.sent.filter((m) => m.topic.endsWith(`/${second}/stop`)).length, 0);
});

test('mute during a wake detection: the detection is dropped, even after unmute', async () => {
  const r = rig();
  r.frame();
  await settle();
  r.cmd({ command: 'mute' });
  assert.equal(r.state.kind, 'muted');
  r.cmd({ command: 'unmute' });
  r.wakeCalls.resolve({ keyword: 'hey_jarvis', score: 0.99 });
  await r.queue.idle();
  assert.deepEqual(r.kinds(), [], 'no session opened from a detection that straddled mute');
  assert.equal(r.state.kind, 'idle');
  // The next detection works.
  r.frame();
  await settle();
  r.wakeCalls.resolve({ keyword: 'hey_jarvis', score: 0.99 });
  await settle();
  assert.deepEqual(r.kinds(), ['wake', 'start', 'audio', 'audio'], 'wake, start, the two frames of pre-roll');
});

test('muted: listen does nothing and frames do not reach the wake engine', async () => {
  const r = rig();
  r.cmd({ command: 'mute' });
  r.cmd({ command: 'listen' });
  r.frame();
  await r.queue.idle();
  assert.equal(r.wakeCalls.calls.length, 0);
  assert.deepEqual(r.sent, []);
});
