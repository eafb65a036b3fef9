/** Satellite state machine: idle, streaming, playing, follow-up, muted; one field, epoch bumped on every transition. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Endpointer } from '../satellite/endpointer';
import { type LiveSession, SatelliteState, type StateKind } from '../satellite/state';

function session(id: string): LiveSession {
  return { id, wakeWord: 'hey_jarvis', openedBy: 'wake', held: false, endpointer: new Endpointer({ threshold: 0.5, silenceMs: 400, maxUtteranceMs: 12000, wakeGapMs: 96, wakeTailMaxMs: 400 }, { preRollMs: 0, noSpeechMs: 4000 }), warmUp: null };
}

test('wake -> streaming -> idle; a second session cannot open while one is live', () => {
  const seen: StateKind[] = [];
  const st = new SatelliteState((next) => seen.push(next.kind));
  assert.equal(st.kind, 'idle');
  assert.equal(st.open(session('a')), true);
  assert.equal(st.kind, 'streaming');
  assert.equal(st.session?.id, 'a');
  assert.equal(st.open(session('b')), false);
  assert.equal(st.session?.id, 'a');
  assert.equal(st.close(null)?.id, 'a');
  assert.equal(st.kind, 'idle');
  assert.equal(st.session, null);
  assert.equal(st.close(null), null, 'closing twice ends nothing');
  assert.deepEqual(seen, ['streaming', 'idle']);
});

test('playing: a reply starts and ends; barge-in opens a session from playing; a session ending during a reply returns to playing', () => {
  const st = new SatelliteState();
  st.playbackStarted('r1');
  assert.deepEqual(st.current, { kind: 'playing', streamId: 'r1' });
  assert.equal(st.open(session('a')), true);
  assert.equal(st.kind, 'streaming');
  st.playbackStarted('r2'); // a stream starting mid-session does not change the state
  assert.equal(st.kind, 'streaming');
  st.close('r2');
  assert.deepEqual(st.current, { kind: 'playing', streamId: 'r2' });
  st.playbackEnded();
  assert.equal(st.kind, 'idle');
});

test('follow-up: opens from playing, becomes streaming once speech starts, ends to idle', () => {
  const st = new SatelliteState();
  st.playbackStarted('r1');
  assert.equal(st.open(session('f'), true), true);
  assert.equal(st.kind, 'follow-up');
  assert.equal(st.session?.id, 'f');
  st.speechStarted();
  assert.equal(st.kind, 'streaming');
  assert.equal(st.session?.id, 'f', 'the same session');
  st.close(null);
  assert.equal(st.kind, 'idle');
  st.speechStarted(); // no effect outside follow-up
  assert.equal(st.kind, 'idle');
});

test('muted: entered from any state, refuses sessions, ignores playback, unmute returns to idle or playing', () => {
  const st = new SatelliteState();
  st.open(session('a'));
  st.close(null);
  st.mute();
  assert.equal(st.kind, 'muted');
  assert.equal(st.open(session('b')), false);
  assert.equal(st.open(session('c'), true), false);
  st.playbackStarted('r1');
  assert.equal(st.kind, 'muted');
  st.unmute('r1');
  assert.deepEqual(st.current, { kind: 'playing', streamId: 'r1' });
  st.mute();
  st.unmute(null);
  assert.equal(st.kind, 'idle');
});

test('every transition bumps the epoch; a refused one does not', () => {
  const st = new SatelliteState();
  const e0 = st.epoch;
  st.open(session('a'));
  assert.equal(st.epoch, e0 + 1);
  st.open(session('b'));
  assert.equal(st.epoch, e0 + 1);
  st.close(null);
  st.mute();
  st.unmute(null);
  assert.equal(st.epoch, e0 + 4);
});
