/**
 * Degrade, never crash: Ollama unreachable, model missing (404), hanging,
 * stalling mid-stream, dropping the connection mid-stream. Each time the
 * transcript is still published, a coded error goes out, the satellite is
 * sent the spoken apology, the LLM request is not left open, and the next
 * session gets a real answer once Ollama is back.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { Hub } from '../hub/controller';
import { Collector, freePort, jsonOf, speakSession } from './helpers';
import { startHub } from './hub-helpers';
import { OllamaDouble, tokenize } from './ollama-double';

let hub: Hub;
let col: Collector;
let client: MqttClient;
let double: OllamaDouble;
let port: number;
const SAT = 'degrade';
const T = `voice/satellite/${SAT}`;
const APOLOGY = 'Sorry, the assistant is not available.';

before(async () => {
  port = await freePort(); // nothing listens yet: "unreachable"
  hub = await startHub(['--llm-host', `http://127.0.0.1:${port}`, '--llm-first-token-timeout-ms', '1500', '--llm-idle-timeout-ms', '800', '--reply-apology', APOLOGY, '--reply-handled-wait-ms', '50']);
  col = await Collector.create(hub.brokerUrl, [`${T}/#`]);
  client = col.client;
});
after(async () => {
  await col?.end();
  await hub?.stop();
  await double?.stop();
});

/** One session through a failing LLM: returns the error code and checks the rest of the contract. */
async function failingSession(question: string): Promise<string> {
  const sid = await speakSession(client, SAT, question);
  const fin = jsonOf(await col.next((t, p) => t === `${T}/transcript` && jsonOf({ payload: p }).sessionId === sid, 15000));
  assert.ok(String(fin.text).length > 0, 'the transcript is published');
  const err = jsonOf(await col.next((t, p) => t === `${T}/error` && jsonOf({ payload: p }).sessionId === sid, 15000));
  const reply = jsonOf(await col.next((t, p) => t === `${T}/reply` && jsonOf({ payload: p }).sessionId === sid, 15000));
  assert.equal(reply.error, err.code);
  const start = jsonOf(await col.next((t) => t === `${T}/tts/${sid}/start`, 10000));
  assert.equal(start.engine, 'flite', 'the apology is spoken');
  const stop = jsonOf(await col.next((t) => t === `${T}/tts/${sid}/stop`, 10000));
  assert.equal(stop.reason, 'done');
  assert.equal(hub.replies?.activeCount, 0);
  return String(err.code);
}

test('Ollama unreachable: VOICE_LLM_UNREACHABLE and the apology', async () => {
  assert.equal(await failingSession('what is the weather like today'), 'VOICE_LLM_UNREACHABLE');
});

test('Ollama back: the next session gets a real answer', async () => {
  double = await new OllamaDouble().start(port);
  double.behaviour = { kind: 'stream', tokens: tokenize('It is sunny.'), delayMs: 10 };
  const sid = await speakSession(client, SAT, 'what is the weather like today');
  const reply = jsonOf(await col.next((t, p) => t === `${T}/reply` && jsonOf({ payload: p }).sessionId === sid, 15000));
  assert.equal(reply.text, 'It is sunny.');
  assert.equal(reply.error, undefined);
});

test('model missing (404): VOICE_LLM_MODEL_MISSING naming the pull command', async () => {
  double.behaviour = { kind: 'missing-model' };
  assert.equal(await failingSession('set a timer for ten minutes'), 'VOICE_LLM_MODEL_MISSING');
  const e = jsonOf((await col.next((t, p) => t === `${T}/error` && jsonOf({ payload: p }).code === 'VOICE_LLM_MODEL_MISSING', 1000)));
  assert.match(String(e.message), /ollama pull llama3\.2/);
});

test('hanging before the first token: VOICE_LLM_TIMEOUT and the request is aborted', async () => {
  double.behaviour = { kind: 'hang' };
  const n = double.requests.length;
  assert.equal(await failingSession('turn off the kitchen light'), 'VOICE_LLM_TIMEOUT');
  const rec = await double.waitRequests(n + 1);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(rec.aborted, true, 'the server saw the request end');
});

test('stalling mid-stream: VOICE_LLM_TIMEOUT; the finished sentence was spoken before the apology', async () => {
  double.behaviour = { kind: 'stall', tokens: tokenize('The weather is mild. And the other thing I wanted to say'), delayMs: 20, after: 7 };
  const n = double.requests.length;
  assert.equal(await failingSession('turn off the kitchen light'), 'VOICE_LLM_TIMEOUT');
  const rec = await double.waitRequests(n + 1);
  const reply = jsonOf(col.messages.filter((m) => m.topic === `${T}/reply`).at(-1) as { payload: Buffer });
  assert.match(String(reply.text), /^The weather is mild\./);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(rec.aborted, true);
});

test('connection dropped mid-stream: VOICE_LLM_FAILED, then the next session works', async () => {
  double.behaviour = { kind: 'drop', tokens: tokenize('One moment please while I'), delayMs: 20, after: 3 };
  assert.equal(await failingSession('play some music in the living room'), 'VOICE_LLM_FAILED');
  double.behaviour = { kind: 'stream', tokens: tokenize('Playing music.'), delayMs: 10 };
  const sid = await speakSession(client, SAT, 'play some music in the living room');
  const reply = jsonOf(await col.next((t, p) => t === `${T}/reply` && jsonOf({ payload: p }).sessionId === sid, 15000));
  assert.equal(reply.text, 'Playing music.');
});
