/**
 * Who answers: an automation can claim a transcript on .../handled (with
 * text to speak, or without to keep the hub quiet) and the LLM is not asked;
 * otherwise the LLM answers with per-satellite memory. Announcements are
 * spoken on one satellite, a room or all; an empty room is a coded error.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { Hub } from '../hub/controller';
import { Collector, jsonOf, speakSession } from './helpers';
import { startHub } from './hub-helpers';
import { OllamaDouble, tokenize } from './ollama-double';

let hub: Hub;
let col: Collector;
let client: MqttClient;
let double: OllamaDouble;

before(async () => {
  double = await new OllamaDouble().start();
  double.behaviour = { kind: 'stream', tokens: tokenize('Paris is the capital of France.'), delayMs: 5 };
  hub = await startHub(['--llm-host', double.url, '--reply-handled-wait-ms', '400', '--llm-history-turns', '2']);
  col = await Collector.create(hub.brokerUrl, ['voice/#']);
  client = col.client;
  for (const [id, room] of [['r1', 'kitchen'], ['r2', 'kitchen'], ['r3', 'hall']]) {
    await client.publishAsync(`voice/satellite/${id}/status`, JSON.stringify({ state: 'online', protocol: 1, room }), { qos: 1, retain: true });
  }
  await new Promise((r) => setTimeout(r, 200));
});
after(async () => {
  await col?.end();
  await hub?.stop();
  await double?.stop();
});

async function transcriptOf(sat: string, sid: string) {
  return jsonOf(await col.next((t, p) => t === `voice/satellite/${sat}/transcript` && jsonOf({ payload: p }).sessionId === sid, 15000));
}

test('an automation claims a transcript with text: that text is spoken, the LLM is not asked', async () => {
  const before = double.requests.length;
  const sid = await speakSession(client, 'r1', 'turn off the kitchen light');
  await transcriptOf('r1', sid);
  await client.publishAsync('voice/satellite/r1/handled', JSON.stringify({ sessionId: sid, text: 'Kitchen light is off.' }), { qos: 1 });
  const reply = jsonOf(await col.next((t, p) => t === 'voice/satellite/r1/reply' && jsonOf({ payload: p }).sessionId === sid, 5000));
  assert.equal(reply.source, 'automation');
  assert.equal(reply.text, 'Kitchen light is off.');
  await col.next((t) => t === `voice/satellite/r1/tts/${sid}/stop`, 10000);
  assert.equal(double.requests.length, before);
});

test('a claim without text keeps the hub quiet', async () => {
  const before = double.requests.length;
  const sid = await speakSession(client, 'r1', 'turn on the bedroom lamp');
  await transcriptOf('r1', sid);
  await client.publishAsync('voice/satellite/r1/handled', JSON.stringify({ sessionId: sid }), { qos: 1 });
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(double.requests.length, before);
  assert.equal(col.messages.filter((m) => m.topic.startsWith(`voice/satellite/r1/tts/${sid}`)).length, 0);
  assert.equal(col.messages.filter((m) => m.topic === 'voice/satellite/r1/reply' && jsonOf(m).sessionId === sid).length, 0);
});

test('a bad claim gets VOICE_BAD_PAYLOAD', async () => {
  await client.publishAsync('voice/satellite/r1/handled', JSON.stringify({ text: 'no session' }), { qos: 1 });
  const e = jsonOf(await col.next((t, p) => t === 'voice/satellite/r1/error' && /sessionId/.test(String(jsonOf({ payload: p }).message)), 5000));
  assert.equal(e.code, 'VOICE_BAD_PAYLOAD');
});

test('unclaimed: the LLM answers, and remembers the conversation per satellite', async () => {
  const n = double.requests.length;
  const s1 = await speakSession(client, 'r3', 'what is the capital of france');
  const t1 = await transcriptOf('r3', s1);
  await col.next((t, p) => t === 'voice/satellite/r3/reply' && jsonOf({ payload: p }).sessionId === s1, 10000);
  const s2 = await speakSession(client, 'r3', 'what is the weather like today');
  await col.next((t, p) => t === 'voice/satellite/r3/reply' && jsonOf({ payload: p }).sessionId === s2, 10000);
  const second = await double.waitRequests(n + 2);
  const msgs = second.body.messages.map((m) => `${m.role}: ${m.content}`);
  assert.deepEqual(msgs.slice(1, 3), [`user: ${String(t1.text)}`, 'assistant: Paris is the capital of France.'], 'the first turn is remembered');
  // Another satellite has its own, empty memory.
  const s3 = await speakSession(client, 'r2', 'what is the weather like today');
  await col.next((t, p) => t === 'voice/satellite/r2/reply' && jsonOf({ payload: p }).sessionId === s3, 10000);
  const third = await double.waitRequests(n + 3);
  assert.equal(third.body.messages.length, 2, 'system + question only');
  assert.equal(third.body.keep_alive, '30m');
});

test('announce to one satellite, to a room, to all; an empty room is VOICE_ANNOUNCE_NO_TARGET', async () => {
  const from = col.messages.length;
  await client.publishAsync('voice/satellite/r3/announce', JSON.stringify({ text: 'The laundry is done.' }), { qos: 1 });
  const r = jsonOf(await col.next((t) => t === 'voice/satellite/r3/reply', 5000, from));
  assert.equal(r.source, 'announce');
  assert.equal(r.text, 'The laundry is done.');
  await col.next((t) => /^voice\/satellite\/r3\/tts\/[^/]+\/start$/.test(t), 5000, from);

  const from2 = col.messages.length;
  await client.publishAsync('voice/room/kitchen/announce', 'Dinner is ready.', { qos: 1 });
  await col.next((t) => /^voice\/satellite\/r1\/tts\/[^/]+\/stop$/.test(t), 10000, from2);
  await col.next((t) => /^voice\/satellite\/r2\/tts\/[^/]+\/stop$/.test(t), 10000, from2);
  assert.equal(col.messages.slice(from2).filter((m) => /^voice\/satellite\/r3\/tts\/[^/]+\/start$/.test(m.topic)).length, 0, 'not in the hall');

  const from3 = col.messages.length;
  await client.publishAsync('voice/announce', 'Goodnight.', { qos: 1 });
  for (const id of ['r1', 'r2', 'r3']) await col.next((t) => t === `voice/satellite/${id}/reply`, 5000, from3);

  await client.publishAsync('voice/room/garage/announce', 'Hello?', { qos: 1 });
  const e = jsonOf(await col.next((t) => t === 'voice/hub/error', 5000));
  assert.equal(e.code, 'VOICE_ANNOUNCE_NO_TARGET');
  assert.match(String(e.message), /garage/);
});
