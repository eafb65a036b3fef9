/** Satellite wake gate with an injected clock: refractory period, playback rules (raise, pause, normal), playback tail, mute. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type WakeGateSettings, WakeGate } from '../satellite/wake/gate';

const BASE: WakeGateSettings = { refractoryMs: 2000, duringPlayback: 'raise', playbackTailMs: 1500, playbackThreshold: 0.9 };

function gate(over: Partial<WakeGateSettings> = {}, canRaise = true) {
  const clock = { t: 10_000 };
  const g = new WakeGate({ settings: { ...BASE, ...over }, canRaise, now: () => clock.t });
  return { g, clock };
}
const det = (score: number) => ({ keyword: 'hey_jarvis', score });

test('refractory: no wake for wake.refractoryMs after a session ends', () => {
  const { g, clock } = gate();
  assert.deepEqual(g.judge(det(0.6), false), { wake: true, bargeIn: false });
  g.sessionEnded();
  clock.t += 1999;
  assert.deepEqual(g.judge(det(0.99), false), { wake: false, why: 'refractory' });
  clock.t += 1;
  assert.deepEqual(g.judge(det(0.6), false), { wake: true, bargeIn: false });
});

test('raise: during playback a wake needs wake.playbackThreshold, and is a barge-in', () => {
  const { g } = gate();
  assert.equal(g.shouldListen(false, true), true);
  assert.deepEqual(g.judge(det(0.6), true), { wake: false, why: 'below-playback-threshold' });
  assert.deepEqual(g.judge(det(0.95), true), { wake: true, bargeIn: true });
});

test('playback tail: the playback rule holds for wake.playbackTailMs after playback ends', () => {
  const { g, clock } = gate();
  g.playbackEnded();
  clock.t += 1499;
  assert.deepEqual(g.judge(det(0.6), false), { wake: false, why: 'below-playback-threshold' });
  clock.t += 1;
  assert.deepEqual(g.judge(det(0.6), false), { wake: true, bargeIn: false });
});

test('pause: the engine does not run during playback nor in its tail', () => {
  const { g, clock } = gate({ duringPlayback: 'pause' });
  assert.equal(g.shouldListen(false, false), true);
  assert.equal(g.shouldListen(false, true), false);
  g.playbackEnded();
  clock.t += 1499;
  assert.equal(g.shouldListen(false, false), false);
  clock.t += 1;
  assert.equal(g.shouldListen(false, false), true);
});

test('an engine that cannot raise (Porcupine) pauses instead', () => {
  const { g } = gate({ duringPlayback: 'raise' }, false);
  assert.equal(g.shouldListen(false, true), false);
  assert.equal(g.shouldListen(false, false), true);
});

test('normal: playback changes nothing except that a wake is a barge-in', () => {
  const { g } = gate({ duringPlayback: 'normal' });
  assert.equal(g.shouldListen(false, true), true);
  assert.deepEqual(g.judge(det(0.6), true), { wake: true, bargeIn: true });
});

test('muted: the engine never runs', () => {
  for (const duringPlayback of ['raise', 'pause', 'normal'] as const) {
    const { g } = gate({ duringPlayback });
    assert.equal(g.shouldListen(true, false), false, duringPlayback);
    assert.equal(g.shouldListen(true, true), false, duringPlayback);
  }
});
