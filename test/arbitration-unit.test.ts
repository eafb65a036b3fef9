/**
 * The parts of cross-room arbitration that need no process: what a
 * satellite measures at the wake word (satellite/wake/level.ts) on real
 * flite speech over the pink noise floor, the ranking (hub/arbitration/rank.ts)
 * and the learned co-firers (hub/arbitration/cofire.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoFireHistory } from '../hub/arbitration/cofire';
import { pickWinner } from '../hub/arbitration/rank';
import { LevelMeter } from '../satellite/wake/level';
import { FLITE_SPEECH_RMS, noisy, speak, speechLevel, zeros } from './speech-fixtures';

const dbfs = (rms: number) => 20 * Math.log10(rms / 32768);

function scaled(pcm: Buffer, db: number): Buffer {
  const out = Buffer.alloc(pcm.length);
  const g = 10 ** (db / 20);
  for (let i = 0; i < pcm.length; i += 2) out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(pcm.readInt16LE(i) * g))), i);
  return out;
}

/** Feeds PCM to a meter in 80 ms frames (openWakeWord's), as the listener does, and measures at the end. */
function measure(pcm: Buffer) {
  const m = new LevelMeter();
  for (let off = 0; off + 2560 <= pcm.length; off += 2560) m.push(new Int16Array(pcm.buffer.slice(pcm.byteOffset + off, pcm.byteOffset + off + 2560)));
  return m.measure();
}

test('the wake levels: speech energy of the wake phrase, the noise floor before it, and their difference, on flite speech over pink noise', () => {
  const wake = speak('hey jarvis');
  const floorSnr = 40; // noise 40 dB below typical flite speech: about -55 dBFS
  const utter = (gainDb: number, noiseSnr = floorSnr) => noisy(Buffer.concat([zeros(3000), scaled(wake, gainDb)]), { speechRms: FLITE_SPEECH_RMS, snrDb: noiseSnr, offsetMs: 1234 });
  const near = measure(utter(0));
  const far = measure(utter(-12));
  assert.ok(near && far);
  const noiseDb = dbfs(FLITE_SPEECH_RMS) - floorSnr;
  assert.ok(Math.abs(near.noiseDb - noiseDb) < 3, `noise floor ${near.noiseDb} dBFS, the bed is ${noiseDb.toFixed(1)}`);
  const speechDb = dbfs(speechLevel(wake));
  assert.ok(Math.abs(near.energyDb - speechDb) < 3, `wake energy ${near.energyDb} dBFS, flite speech ${speechDb.toFixed(1)}`);
  assert.equal(near.snrDb, Math.round((near.energyDb - near.noiseDb) * 10) / 10);
  // 12 dB quieter speech over the same floor: 12 dB less SNR (within a dB), the floor unchanged.
  assert.ok(Math.abs(near.snrDb - far.snrDb - 12) < 1, `SNR ${near.snrDb} vs ${far.snrDb}`);
  assert.ok(Math.abs(near.noiseDb - far.noiseDb) < 0.5);
  // A louder floor lowers the SNR by as much.
  const noisier = measure(utter(0, floorSnr - 6));
  assert.ok(noisier && Math.abs(near.snrDb - noisier.snrDb - 6) < 1.5, `SNR ${near.snrDb} vs ${noisier?.snrDb} with a floor 6 dB louder`);
  // Digital silence (a microphone's noise suppression) reports the lowest floor a microphone has, -90 dBFS, not -Infinity;
  // no whole block yet gives nothing.
  const silent = measure(Buffer.concat([zeros(3000), wake]));
  assert.equal(silent?.noiseDb, -90);
  assert.equal(new LevelMeter().measure(), undefined);
});

test('the ranking: highest calibrated SNR; within tieDb the wake score, then the earliest; levels beat none', () => {
  const c = (snrDb: number | undefined, score: number, at: number, calibrationDb?: number) => ({ wake: { snrDb, score, calibrationDb }, at });
  assert.equal(pickWinner([c(20, 0.9, 0), c(30, 0.6, 50)], 1), 1, 'SNR first, whatever the score and the order');
  assert.equal(pickWinner([c(30, 0.6, 0), c(20, 0.9, 50, 11)], 1), 1, 'calibration counts');
  assert.equal(pickWinner([c(30, 0.6, 0), c(29.5, 0.9, 50)], 1), 1, 'within tieDb the score decides');
  assert.equal(pickWinner([c(30, 0.6, 0), c(29.5, 0.9, 50)], 0.2), 0, 'outside tieDb it does not');
  assert.equal(pickWinner([c(30, 0.8, 70), c(30, 0.8, 20), c(30, 0.8, 40)], 1), 1, 'then the earliest');
  assert.equal(pickWinner([c(undefined, 0.99, 0), c(5, 0.5, 90)], 1), 1, 'a satellite that sent levels beats one that did not');
  assert.equal(pickWinner([c(undefined, 0.7, 0), c(undefined, 0.9, 90)], 1), 1, 'without levels: the score');
});

test('the learned co-firers: a satellite is waited for until it was online through three decisions without hearing one', () => {
  const h = new CoFireHistory();
  assert.deepEqual(h.expected('kitchen', ['living', 'bedroom']), ['living', 'bedroom'], 'nothing learned: wait for everyone');
  h.record(['kitchen', 'living'], ['kitchen', 'living', 'bedroom']);
  h.record(['kitchen', 'living'], ['kitchen', 'living', 'bedroom']);
  assert.deepEqual(h.expected('kitchen', ['living', 'bedroom']), ['living', 'bedroom'], 'two decisions are too few to leave the bedroom out');
  h.record(['kitchen', 'living'], ['kitchen', 'living', 'bedroom']);
  assert.deepEqual(h.expected('kitchen', ['living', 'bedroom']), ['living']);
  assert.deepEqual(h.expected('living', ['kitchen', 'bedroom']), ['kitchen'], 'learned for every candidate of a decision');
  assert.deepEqual(h.expected('kitchen', ['living', 'bedroom', 'hall']), ['living', 'hall'], 'a satellite never seen is waited for');
  h.record(['kitchen', 'bedroom'], ['kitchen', 'living', 'bedroom']);
  assert.deepEqual(h.expected('kitchen', ['living', 'bedroom']), ['living', 'bedroom'], 'once it co-fires it is waited for again');
  // A satellite that was left out and then came in late joins that decision: it is waited for again.
  const h2 = new CoFireHistory();
  let rec = h2.record(['kitchen', 'living'], ['kitchen', 'living', 'bedroom']);
  for (let i = 0; i < 2; i++) rec = h2.record(['kitchen', 'living'], ['kitchen', 'living', 'bedroom']);
  assert.deepEqual(h2.expected('kitchen', ['living', 'bedroom']), ['living']);
  h2.join(rec, 'bedroom');
  assert.deepEqual(h2.expected('kitchen', ['living', 'bedroom']), ['living', 'bedroom']);
  assert.deepEqual(h2.expected('bedroom', ['kitchen', 'living']), ['kitchen', 'living']);
  // Only the last ten decisions count.
  for (let i = 0; i < 10; i++) h.record(['kitchen'], ['kitchen', 'living', 'bedroom']);
  assert.deepEqual(h.expected('kitchen', ['living', 'bedroom']), []);
});
