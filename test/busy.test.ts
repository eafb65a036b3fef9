/**
 * A refused wake, with real satellite processes (issue 15): the hub decodes
 * one session at once here (stt.warmSessions 1) and queues none
 * (stt.queueMs 0). While one room speaks, a second room's wake is refused
 * with VOICE_BUSY; that satellite stops streaming and plays the busy tone.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseWav } from '../common/wav';
import { Collector, FifoMic, jsonOf, runNode, silence, speak, TMP, withTimeout } from './helpers';
import { startHub } from './hub-helpers';
import { noisy } from './speech-fixtures';

/** Zero crossings per second of a stretch of s16 PCM: about twice the frequency of a pure tone. */
function crossingsPerS(pcm: Buffer, rate: number): number {
  let n = 0;
  for (let i = 2; i < pcm.length; i += 2) if (pcm.readInt16LE(i - 2) < 0 !== pcm.readInt16LE(i) < 0) n++;
  return n / (pcm.length / 2 / rate);
}

test('over the decoding limit a wake is refused with VOICE_BUSY: the satellite stops streaming and plays the busy tone; the live session is untouched', async (t) => {
  const hub = await startHub(['--stt-warm-sessions', '1', '--stt-queue-ms', '0', '--reply-enabled', 'false']);
  t.after(() => hub.stop());
  const col = await Collector.create(hub.brokerUrl, ['voice/satellite/+/#']);
  t.after(() => col.end());
  const mics = { den: new FifoMic('busy-den'), hall: new FifoMic('busy-hall') };
  const sats = Object.entries(mics).map(([id, mic]) =>
    runNode('satellite/main.js', ['--mqtt-url', hub.brokerUrl, '--satellite-id', id, '--audio-source', 'command', '--audio-command', mic.command, '--playback-sink', 'file', '--playback-dir', path.join(TMP, `busy-play-${id}`)]),
  );
  t.after(async () => {
    for (const m of Object.values(mics)) m.close();
    await Promise.all(sats.map((s) => s.stop()));
  });
  await Promise.all(Object.values(mics).map((m) => m.open()));
  await Promise.all(Object.values(mics).map((m) => m.play(noisy(silence(1500)))));

  // The den speaks a long command; the hall wakes while it is still being decoded.
  const den = mics.den.play(noisy(Buffer.concat([silence(300), speak('hey jarvis'), silence(300), speak('please turn on the lights in the kitchen and the living room'), silence(1500)])));
  const denWake = jsonOf(await col.next((tp) => tp === 'voice/satellite/den/wake', 10000));
  const hall = mics.hall.play(noisy(Buffer.concat([silence(300), speak('hey jarvis'), silence(300), speak('what time is it'), silence(1500)])));
  const hallWake = jsonOf(await col.next((tp) => tp === 'voice/satellite/hall/wake', 10000));
  const sid = String(hallWake.sessionId);
  const err = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/hall/error' && jsonOf({ payload: p }).sessionId === sid, 5000));
  assert.equal(err.code, 'VOICE_BUSY');
  const end = jsonOf(await col.next((tp) => tp === 'voice/satellite/hall/command', 5000));
  assert.deepEqual(end, { command: 'end', sessionId: sid, reason: 'busy' });
  const stop = jsonOf(await col.next((tp) => tp === `voice/satellite/hall/audio/${sid}/stop`, 5000));
  assert.equal(stop.reason, 'command', 'the satellite stopped streaming at once');
  const played = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/hall/played' && jsonOf({ payload: p }).sessionId === sid, 5000));
  assert.equal(played.reason, 'done');
  // The tone: 300 ms at 16 kHz, a high note then a lower one.
  const file = path.join(TMP, 'busy-play-hall', `${sid}.wav`);
  await withTimeout((async () => { while (!fs.existsSync(file)) await new Promise((r) => setTimeout(r, 20)); })(), 3000, 'the busy tone file');
  const wav = parseWav(fs.readFileSync(file), file);
  assert.equal(wav.rate, 16000);
  assert.ok(Math.abs(wav.data.length / 32 - 300) <= 5, `${wav.data.length / 32} ms`);
  const first = crossingsPerS(wav.data.subarray(0, 120 * 32), 16000) / 2;
  const last = crossingsPerS(wav.data.subarray(180 * 32), 16000) / 2;
  assert.ok(Math.abs(first - 660) < 30 && Math.abs(last - 440) < 30, `tones ${first.toFixed(0)} Hz, ${last.toFixed(0)} Hz`);
  // The den's session was never disturbed.
  const fin = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/den/transcript' && jsonOf({ payload: p }).sessionId === denWake.sessionId, 20000));
  assert.match(String(fin.text), /light|kitchen|living/);
  await Promise.all([den, hall]);
  assert.equal(col.messages.some((m) => m.topic === 'voice/satellite/hall/transcript'), false, 'no transcript for the refused session');
  assert.equal(hub.admission?.stats.refused, 1);
});
