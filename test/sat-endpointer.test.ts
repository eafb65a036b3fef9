/** Satellite endpointer: silence, no-speech and max-utterance decisions on audio time, with VAD hysteresis. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Endpointer, HYSTERESIS } from '../satellite/endpointer';

const SETTINGS = { threshold: 0.5, silenceMs: 400, maxUtteranceMs: 12000, wakeGapMs: 96, wakeTailMaxMs: 400 };
const WIN = 32; // one Silero window
const SPEECH = 0.9;
const QUIET = 0.05;

function make(preRollMs = 320, noSpeechMs = 4000): Endpointer {
  return new Endpointer(SETTINGS, { preRollMs, noSpeechMs });
}

/** Feeds `n` windows of probability `p`; returns the first stop reason and after how many windows. */
function feed(e: Endpointer, n: number, p: number): { reason: string | null; at: number } {
  for (let i = 1; i <= n; i++) {
    const r = e.push(WIN, [p]);
    if (r) return { reason: r, at: i };
  }
  return { reason: null, at: n };
}

test('silence after speech ends the session exactly at vad.silenceMs', () => {
  const e = make();
  assert.equal(feed(e, 10, SPEECH).reason, null);
  // 12 quiet windows = 384 ms < 400: still open; the 13th (416 ms) ends it.
  assert.deepEqual(feed(e, 12, QUIET), { reason: null, at: 12 });
  assert.equal(e.push(WIN, [QUIET]), 'silence');
  assert.equal(e.speechEndMs, 320 + 10 * WIN, 'speech ended after the 10th window (pre-roll included in the timeline)');
  assert.equal(e.audioMs, 320 + 23 * WIN);
});

test('no speech at all ends the session at noSpeechMs of audio after the pre-roll', () => {
  const e = make(320, 4000);
  // 4000 / 32 = 125 windows; the pre-roll does not count.
  assert.deepEqual(feed(e, 200, QUIET), { reason: 'no-speech', at: 125 });
  assert.equal(e.speechEndMs, undefined);
  const f = make(320, 1000); // follow-up: followUp.listenMs
  assert.equal(feed(f, 200, QUIET).at, Math.ceil(1000 / WIN));
});

test('speech that never pauses ends the session at vad.maxUtteranceMs', () => {
  const e = make();
  assert.deepEqual(feed(e, 1000, SPEECH), { reason: 'max-length', at: 12000 / WIN });
});

test('hysteresis: speech continues down to threshold - 0.15 but does not start there', () => {
  const between = SETTINGS.threshold - HYSTERESIS / 2; // 0.425: below the threshold, above the lower one
  const e = make();
  feed(e, 5, SPEECH);
  // A second of "weak speech" after real speech is still speech: no silence stop.
  assert.equal(feed(e, 1000 / WIN, between).reason, null);
  assert.equal(e.speechEndMs, e.audioMs);
  // Below the lower threshold it is silence.
  assert.equal(feed(e, 20, SETTINGS.threshold - HYSTERESIS - 0.01).reason, 'silence');

  // Weak speech alone never starts an utterance.
  const g = make(0, 640);
  assert.deepEqual(feed(g, 100, between), { reason: 'no-speech', at: 640 / WIN });
});

test('audio sent before its VAD result is counted in audioMs at once (sent/decide)', () => {
  const e = make(0);
  const from = e.sent(80);
  assert.equal(e.audioMs, 80);
  assert.equal(e.decide(from, 80, [SPEECH, SPEECH]), null);
  assert.equal(e.speechEndMs, 80);
});

/** A session a wake word opened: the pre-roll ends where the detector fired. */
function woken(preRollMs = 320, noSpeechMs = 4000): Endpointer {
  return new Endpointer(SETTINGS, { preRollMs, noSpeechMs, wakeMs: preRollMs });
}

test('the rest of the wake word after the fire point, then a pause of any length up to noSpeechMs, does not end the session', () => {
  for (const pauseWindows of [0, 11, 22, 38, 120]) {
    const e = woken();
    // 160 ms of "-vis" streamed after the detector fired.
    assert.equal(feed(e, 5, SPEECH).reason, null);
    // The pause: 96 ms of silence ends the wake word at its start (320 + 160).
    const pause = feed(e, pauseWindows, QUIET);
    assert.equal(pause.reason, null, `a ${pauseWindows * WIN} ms pause after the wake word ended the session`);
    if (pauseWindows >= 3) assert.equal(e.wakeEndMs, 320 + 5 * WIN);
    assert.equal(e.speechStarted, false, 'the wake word is not the command');
    // The command, then the utterance's own silence ends the session.
    assert.equal(feed(e, 30, SPEECH).reason, null);
    assert.deepEqual(feed(e, 20, QUIET), { reason: 'silence', at: 13 });
    assert.equal(e.speechEndMs, 320 + (5 + pauseWindows + 30) * WIN);
  }
});

test('no-speech counts from the end of the wake word, not from the fire point', () => {
  const e = woken(320, 1000);
  feed(e, 10, SPEECH); // 320 ms of wake word after the fire point
  // 1000 ms of silence after the wake word ended: 1000 / 32 = 31.25 -> the 32nd window.
  assert.deepEqual(feed(e, 100, QUIET), { reason: 'no-speech', at: 32 });
  assert.equal(e.wakeEndMs, 320 + 10 * WIN);
  assert.equal(e.speechEndMs, undefined);
});

test('a short dip inside the wake word does not end it; a command run on without a pause counts from wakeTailMaxMs', () => {
  const e = woken();
  feed(e, 4, SPEECH);
  feed(e, 2, QUIET); // 64 ms < wakeGapMs: still the wake word
  assert.equal(e.wakeEndMs, undefined);
  // Speech on without a pause: the wake word ends wakeTailMaxMs after the fire point and the command starts there.
  const r = feed(e, 40, SPEECH);
  assert.equal(r.reason, null);
  assert.equal(e.wakeEndMs, 320 + Math.ceil(SETTINGS.wakeTailMaxMs / WIN) * WIN);
  assert.equal(e.speechStarted, true);
  assert.equal(feed(e, 20, QUIET).reason, 'silence');
});

test('without a wake word (listen, follow-up) speech counts from the first live frame', () => {
  const e = make();
  feed(e, 3, SPEECH);
  assert.equal(e.speechStarted, true);
  assert.equal(e.wakeEndMs, undefined);
  assert.deepEqual(feed(e, 20, QUIET), { reason: 'silence', at: 13 });
});

test('a short command run on from the wake word ("good night") ends on silence, not after noSpeechMs', () => {
  const e = woken();
  // 640 ms of speech from the fire point: the wake word's end, then the command, no pause between.
  assert.equal(feed(e, 20, SPEECH).reason, null);
  assert.equal(e.speechStarted, true);
  assert.deepEqual(feed(e, 200, QUIET), { reason: 'silence', at: 13 });
});
