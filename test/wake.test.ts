/** Wake word: openWakeWord fires on "hey jarvis" and not on other speech; Porcupine's bad key is a clear coded error. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { VoiceError } from '../common/errors';
import { setWakeThreshold, type WakeEngine } from '../satellite/wake/engine';
import { PorcupineEngine } from '../satellite/wake/porcupine';
import { OpenWakeWordEngine } from '../satellite/wake/openwakeword';
import { runNode, silence, speak, TMP } from './helpers';
import { wavFromPcm } from '../common/wav';

async function maxScore(pcm: Buffer): Promise<{ max: number; fired: boolean }> {
  const e = new OpenWakeWordEngine({ keyword: 'hey_jarvis', threshold: 0.5, threads: 1 });
  await e.start();
  try {
    return await scores(e, pcm);
  } finally {
    await e.stop();
  }
}

/** Runs the engine (from its reset state) over the PCM with half a second of silence around it. */
async function scores(e: OpenWakeWordEngine, pcm: Buffer): Promise<{ max: number; fired: boolean }> {
  e.reset();
  let max = 0;
  let fired = false;
  const all = Buffer.concat([silence(500), pcm, silence(500)]);
  for (let off = 0; off + 2560 <= all.length; off += 2560) {
    const frame = new Int16Array(1280);
    for (let i = 0; i < 1280; i++) frame[i] = all.readInt16LE(off + i * 2);
    if (await e.process(frame)) fired = true;
    max = Math.max(max, e.lastScore);
  }
  return { max, fired };
}

test('openWakeWord fires on "hey jarvis"', async () => {
  for (const phrase of ['hey jarvis', 'hey jarvis, turn off the kitchen light']) {
    const r = await maxScore(speak(phrase));
    assert.ok(r.fired, `did not fire on "${phrase}" (max score ${r.max})`);
    assert.ok(r.max > 0.5);
  }
});

test('openWakeWord does not fire on other speech', async () => {
  const other = [
    'Jarvis Cocker sang a song at the festival.',
    'hey there, what is the weather like today?',
    'Please set a timer for ten minutes and turn on the radio.',
    'The quick brown fox jumps over the lazy dog.',
    'I would like a cup of coffee with milk and no sugar.',
  ].join(' ');
  const r = await maxScore(speak(other));
  assert.equal(r.fired, false, `fired on other speech (max score ${r.max})`);
  assert.ok(r.max < 0.5);
});

test('a missing keyword model is VOICE_WAKE_MODEL_MISSING', async () => {
  const e = new OpenWakeWordEngine({ keyword: '/nonexistent/model.onnx', threshold: 0.5, threads: 1 });
  await assert.rejects(e.start(), (err: unknown) => err instanceof VoiceError && err.code === 'VOICE_WAKE_MODEL_MISSING' && /not found/.test(err.message));
});

test('Porcupine with a bad access key is VOICE_WAKE_ACCESS_KEY', async () => {
  const e = new PorcupineEngine({ accessKey: 'not-a-real-key', keyword: 'jarvis', sensitivity: 0.5 });
  await assert.rejects(e.start(), (err: unknown) => err instanceof VoiceError && err.code === 'VOICE_WAKE_ACCESS_KEY' && /accessKey/.test(err.message));
  const unknown = new PorcupineEngine({ accessKey: 'x', keyword: 'not-a-keyword', sensitivity: 0.5 });
  await assert.rejects(unknown.start(), (err: unknown) => err instanceof VoiceError && err.code === 'VOICE_WAKE_MODEL_MISSING');
});

test('a satellite with a bad Porcupine key exits 78 with the coded error (systemd does not restart it)', async () => {
  const wav = path.join(TMP, 'quiet.wav');
  fs.writeFileSync(wav, wavFromPcm(silence(500)));
  // The satellite connects to MQTT before loading its wake engine, so give it a real broker (the hub's).
  const hub = runNode('hub/main.js', ['--broker-port', '0', '--broker-host', '127.0.0.1', '--stt-workers', '1']);
  try {
    const line = await hub.waitLog((o) => o.msg === 'embedded MQTT broker listening');
    const sat = runNode('satellite/main.js', ['--mqtt-url', `mqtt://127.0.0.1:${line.port as number}`, '--audio-source', 'wav', '--audio-wav', wav], { VOICE_SAT_WAKE_PORCUPINE_ACCESS_KEY: 'bad-key' });
    const code = await sat.waitExit();
    assert.equal(code, 78);
    assert.ok(sat.lines.some((l) => l.includes('VOICE_WAKE_ACCESS_KEY')), sat.lines.join('\n'));
  } finally {
    await hub.stop();
  }
});

test('the threshold command\'s setWakeThreshold: openWakeWord compares the new threshold with the same scores; Porcupine cannot change it (VOICE_WAKE_THRESHOLD_FIXED)', async () => {
  const e = new OpenWakeWordEngine({ keyword: 'hey_jarvis', threshold: 0.5, threads: 1 });
  await e.start();
  try {
    const pcm = speak('hey jarvis');
    const at05 = await scores(e, pcm);
    assert.ok(at05.fired && at05.max < 1, `fires at 0.5 below a score of 1 (max ${at05.max})`);
    // Above the best score this audio gets: the same scores, no detection.
    const higher = (at05.max + 1) / 2;
    assert.equal(setWakeThreshold(e, higher), 0.5, 'returns the threshold it had');
    assert.equal(e.threshold, higher);
    const above = await scores(e, pcm);
    assert.equal(above.max, at05.max, 'the scores do not change');
    assert.equal(above.fired, false, `fired at ${higher} (max ${above.max})`);
    setWakeThreshold(e, 0.5);
    assert.equal((await scores(e, pcm)).fired, true, 'back at 0.5 it fires again');
  } finally {
    await e.stop();
  }
  // Porcupine's sensitivity is fixed when it is made (the engine is not started: the check needs no access key).
  const p: WakeEngine = new PorcupineEngine({ accessKey: 'x', keyword: 'jarvis', sensitivity: 0.5 });
  assert.equal(p.threshold, undefined, 'no threshold to report in the status');
  assert.throws(() => setWakeThreshold(p, 0.7), (err: unknown) => err instanceof VoiceError && err.code === 'VOICE_WAKE_THRESHOLD_FIXED' && /wake\.porcupine\.sensitivity/.test(err.message));
});
