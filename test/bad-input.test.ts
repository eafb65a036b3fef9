/**
 * Bad input on the hub's topics: malformed JSON, audio for an unknown
 * session, an oversized frame, audio in the wrong format, a second wake
 * mid-session. Each gets a coded error event, and the hub then serves a
 * real session (real aedes, real mqtt client, real pocketsphinx).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Hub } from '../hub/controller';
import { Collector, jsonOf, silence, speak, wer } from './helpers';
import { startHub } from './hub-helpers';

let hub: Hub;
let col: Collector;
const SAT = 'testsat';
const T = `voice/satellite/${SAT}`;
const FORMAT = { encoding: 's16le', rate: 16000, channels: 1 };

before(async () => {
  hub = await startHub();
  col = await Collector.create(hub.brokerUrl, [`${T}/error`, `${T}/transcript/#`, `${T}/command`]);
});
after(async () => {
  await col?.end();
  await hub?.stop();
});

function wake(sessionId: string) {
  return col.client.publishAsync(`${T}/wake`, JSON.stringify({ sessionId, wakeWord: 'hey_jarvis', score: 0.9, time: new Date().toISOString() }), { qos: 1 });
}

async function expectError(code: string, sessionId?: string) {
  const m = await col.next((t, p) => t === `${T}/error` && jsonOf({ payload: p }).code === code && (!sessionId || jsonOf({ payload: p }).sessionId === sessionId), 5000);
  return jsonOf(m);
}

/** Streams PCM in 100 ms frames at up to 10x real time, then stop. */
async function stream(sessionId: string, pcm: Buffer) {
  for (let off = 0; off < pcm.length; off += 3200) {
    await col.client.publishAsync(`${T}/audio/${sessionId}`, pcm.subarray(off, off + 3200), { qos: 0 });
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('malformed JSON on a wake gets VOICE_BAD_PAYLOAD', async () => {
  await col.client.publishAsync(`${T}/wake`, '{"sessionId": ', { qos: 1 });
  const e = await expectError('VOICE_BAD_PAYLOAD');
  assert.match(String(e.message), /not valid JSON/);
  await col.client.publishAsync(`${T}/wake`, JSON.stringify({ sessionId: 'a/b', wakeWord: 'x', score: 1, time: 'now' }), { qos: 1 });
  await col.client.publishAsync(`${T}/wake`, '[1,2,3]', { qos: 1 });
  await col.next((t, p) => t === `${T}/error` && /expected a JSON object/.test(jsonOf({ payload: p }).message as string), 5000);
});

test('audio for an unknown session gets VOICE_UNKNOWN_SESSION', async () => {
  const sid = randomUUID();
  await col.client.publishAsync(`${T}/audio/${sid}`, silence(100), { qos: 0 });
  const e = await expectError('VOICE_UNKNOWN_SESSION', sid);
  assert.match(String(e.message), /no live session/);
});

test('an oversized frame gets VOICE_FRAME_TOO_LARGE and the session continues', async () => {
  const sid = randomUUID();
  await wake(sid);
  await col.client.publishAsync(`${T}/audio/${sid}`, Buffer.alloc(hub.config.session.maxFrameBytes + 2), { qos: 0 });
  const e = await expectError('VOICE_FRAME_TOO_LARGE', sid);
  assert.match(String(e.message), /exceeds session.maxFrameBytes/);
  // Odd-length frame: not whole samples.
  await col.client.publishAsync(`${T}/audio/${sid}`, Buffer.alloc(101), { qos: 0 });
  await expectError('VOICE_AUDIO_FORMAT', sid);
  await col.client.publishAsync(`${T}/audio/${sid}/stop`, JSON.stringify({ sessionId: sid, reason: 'silence', time: new Date().toISOString() }), { qos: 1 });
  const fin = await col.next((t, p) => t === `${T}/transcript` && jsonOf({ payload: p }).sessionId === sid, 10000);
  assert.equal(jsonOf(fin).final, true);
});

test('audio in the wrong format gets VOICE_AUDIO_FORMAT and the session is aborted', async () => {
  const sid = randomUUID();
  await wake(sid);
  await col.client.publishAsync(`${T}/audio/${sid}/start`, JSON.stringify({ sessionId: sid, format: { encoding: 's16le', rate: 44100, channels: 2 }, time: new Date().toISOString() }), { qos: 1 });
  const e = await expectError('VOICE_AUDIO_FORMAT', sid);
  assert.match(String(e.message), /44100/);
  assert.equal(hub.sessions?.liveCount, 0);
});

test('a second wake mid-session gets VOICE_SESSION_BUSY and the first session goes on', async () => {
  const first = randomUUID();
  const second = randomUUID();
  await wake(first);
  await wake(second);
  const e = await expectError('VOICE_SESSION_BUSY', second);
  assert.match(String(e.message), new RegExp(first));
  await col.client.publishAsync(`${T}/audio/${first}/stop`, JSON.stringify({ sessionId: first, reason: 'silence', time: new Date().toISOString() }), { qos: 1 });
  await col.next((t, p) => t === `${T}/transcript` && jsonOf({ payload: p }).sessionId === first, 10000);
});

test('a stop with an invalid reason gets VOICE_BAD_PAYLOAD; the session stays live until a valid stop', async () => {
  const sid = randomUUID();
  await wake(sid);
  await col.client.publishAsync(`${T}/audio/${sid}/stop`, JSON.stringify({ sessionId: sid, reason: 'bored', time: 'x' }), { qos: 1 });
  const e = await expectError('VOICE_BAD_PAYLOAD', sid);
  assert.match(String(e.message), /"reason" must be one of/);
  assert.equal(hub.sessions?.liveCount, 1);
  await col.client.publishAsync(`${T}/audio/${sid}/stop`, JSON.stringify({ sessionId: sid, reason: 'silence', time: 'x' }), { qos: 1 });
  await col.next((t, p) => t === `${T}/transcript` && jsonOf({ payload: p }).sessionId === sid, 10000);
});

test('after all that, a real session is transcribed', async () => {
  const sid = randomUUID();
  const spoken = 'turn off the kitchen light';
  const pcm = Buffer.concat([speak(spoken), silence(600)]);
  await wake(sid);
  await col.client.publishAsync(`${T}/audio/${sid}/start`, JSON.stringify({ sessionId: sid, format: FORMAT, time: new Date().toISOString() }), { qos: 1 });
  await stream(sid, pcm);
  await col.client.publishAsync(`${T}/audio/${sid}/stop`, JSON.stringify({ sessionId: sid, reason: 'silence', audioMs: pcm.length / 32, time: new Date().toISOString() }), { qos: 1 });
  const fin = jsonOf(await col.next((t, p) => t === `${T}/transcript` && jsonOf({ payload: p }).sessionId === sid, 15000));
  assert.ok(wer(spoken, String(fin.text)).rate <= 0.35, `transcript "${String(fin.text)}"`);
  assert.equal(hub.sessions?.liveCount, 0);
  assert.equal(hub.stt?.liveSessions, 0, 'recognizer freed');
});
