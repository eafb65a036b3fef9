/**
 * The engine's endpoint and a satellite that has its own VAD (issue 15): the
 * engine may say "end of speech" while such a satellite still sends speech
 * (a pause inside a sentence, a decoder lagging under load); the hub then
 * ends the session only once the audio stops. In-process hub; a raw MQTT
 * client sends what a satellite sends (audio/start with vad true), at
 * real-time pace, never a stop.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { Noise, noisySpeech, sleep } from './cover-helpers';
import { Collector, jsonOf } from './helpers';
import { startHub } from './hub-helpers';

const noise = new Noise(33);

/** Sends `parts` at real-time pace: audio, or (a number) that many ms in which no frame is sent (the network stalls). */
async function session(c: MqttClient, sat: string, vad: boolean | undefined, ...parts: (Buffer | number)[]): Promise<{ sid: string; sentAt: number }> {
  const sid = randomUUID();
  const time = new Date().toISOString();
  await c.publishAsync(`voice/satellite/${sat}/wake`, JSON.stringify({ sessionId: sid, wakeWord: 'hey_jarvis', score: 0.9, time }), { qos: 1 });
  await c.publishAsync(`voice/satellite/${sat}/audio/${sid}/start`, JSON.stringify({ sessionId: sid, format: { encoding: 's16le', rate: 16000, channels: 1 }, preRollMs: 0, vad, time }), { qos: 1 });
  let next = Date.now();
  for (const pcm of parts) {
    if (typeof pcm === 'number') {
      next += pcm;
      continue;
    }
    for (let off = 0; off < pcm.length; off += 3200, next += 100) {
      const due = next - Date.now();
      if (due > 0) await sleep(due);
      await c.publishAsync(`voice/satellite/${sat}/audio/${sid}`, pcm.subarray(off, off + 3200), { qos: 0 });
    }
  }
  return { sid, sentAt: Date.now() };
}

test('an engine endpoint inside a sentence ends a session without its own VAD there, but a satellite with one keeps talking until its audio stops', async (t) => {
  const hub = await startHub(['--reply-enabled', 'false', '--session-endpoint-min-ms', '500', '--session-timeout-ms', '8000']);
  t.after(() => hub.stop());
  const col = await Collector.create(hub.brokerUrl, ['voice/satellite/+/transcript']);
  t.after(() => col.end());
  // "turn off the kitchen light", 1.5 s of room noise (the engine endpoints after 0.8 s), "and the hall light", then noise.
  const said = () => Buffer.concat([noise.floor(300), noisySpeech('turn off the kitchen light', noise), noise.floor(1500), noisySpeech('and the hall light', noise), noise.floor(2500)]);
  const final = async (sat: string, sid: string) => jsonOf(await col.next((tp, p) => tp === `voice/satellite/${sat}/transcript` && jsonOf({ payload: p }).sessionId === sid, 15000));

  const plain = await session(col.client, 'plain', undefined, said());
  const p = await final('plain', plain.sid);
  assert.equal(p.reason, 'endpoint');
  assert.doesNotMatch(String(p.text), /hall/, 'cut at the pause: this client does not endpoint itself');

  const withVad = await session(col.client, 'vad', true, said());
  const fin = await col.next((tp, pl) => tp === 'voice/satellite/vad/transcript' && jsonOf({ payload: pl }).sessionId === withVad.sid, 15000);
  const v = jsonOf(fin);
  assert.match(String(v.text), /kitchen|light/);
  assert.match(String(v.text), /hall/, `the whole sentence: "${String(v.text)}"`);
  assert.equal(v.reason, 'endpoint', 'ended by the endpoint once the audio stopped, not by session.timeoutMs');
  assert.ok(fin.at >= withVad.sentAt + 900 && fin.at - withVad.sentAt < 4000, `final ${fin.at - withVad.sentAt} ms after the last frame`);
});

test('an endpoint the person spoke past no longer counts: a later stall in the audio (over a second) does not end the session', async (t) => {
  const hub = await startHub(['--reply-enabled', 'false', '--session-endpoint-min-ms', '500', '--session-timeout-ms', '8000']);
  t.after(() => hub.stop());
  const col = await Collector.create(hub.brokerUrl, ['voice/satellite/+/transcript']);
  t.after(() => col.end());
  // The engine endpoints in the pause after "kitchen light"; the person goes on; right after "hall light" the network
  // holds the frames for 1.5 s (nothing arrives), then "and the garage" follows.
  const s = await session(
    col.client,
    'stall',
    true,
    Buffer.concat([noise.floor(300), noisySpeech('turn off the kitchen light', noise), noise.floor(1500), noisySpeech('and the hall light', noise)]),
    1500,
    Buffer.concat([noisySpeech('and the garage', noise), noise.floor(2500)]),
  );
  const fin = await col.next((tp, pl) => tp === 'voice/satellite/stall/transcript' && jsonOf({ payload: pl }).sessionId === s.sid, 15000);
  const v = jsonOf(fin);
  // Ended at the stall, the final would come before the rest was even sent (recognition after a stall is poor, so this
  // is judged by time: the session lasted to the end of the audio, and ended by the endpoint in the noise after it).
  assert.ok(fin.at >= s.sentAt + 900, `final ${fin.at - s.sentAt} ms after the last frame: "${String(v.text)}"`);
  assert.equal(v.reason, 'endpoint');
});