/**
 * Intents in the hub (issue 11), with real speech through pocketsphinx and
 * the command model:
 * - an unclaimed device intent gets the honest unhandled sentence, spoken,
 *   and nothing (no LLM, no other reply) claims it was done;
 * - an automation that claims an intent has its text spoken instead;
 * - a built-in intent (the time) is answered by the hub at once;
 * - a transcript that matches no intent is published on intent/none and the
 *   LLM (a double speaking Ollama's API) answers it;
 * - the satellite's room fills the area of "turn off the lights";
 * - semantic end of speech, with a real satellite process whose silence
 *   detector waits 1.5 s: a complete command ("what time is it") is ended by
 *   the hub (transcript reason complete, the satellite told to end, the
 *   decoded words its final with no final pass), while a
 *   command a longer template could extend ("turn off the lights") waits for
 *   the satellite's own silence.
 * Raw clients stand in for satellites where the behaviour is the hub's.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { wavFromPcm } from '../common/wav';
import type { Hub } from '../hub/controller';
import { Collector, jsonOf, runNode, speakSession, TMP } from './helpers';
import { startHub } from './hub-helpers';
import { userIntentsDir } from './intents-corpus';
import { OllamaDouble, tokenize } from './ollama-double';
import { noisy, speak, zeros } from './speech-fixtures';

let hub: Hub;
let col: Collector;
let client: MqttClient;
let double: OllamaDouble;
const logs: Record<string, unknown>[] = [];

before(async () => {
  double = await new OllamaDouble().start();
  double.behaviour = { kind: 'stream', tokens: tokenize('Paris is the capital of France.'), delayMs: 5 };
  hub = await startHub(['--intents-enabled', 'true', '--intents-dir', userIntentsDir(TMP), '--llm-host', double.url, '--reply-handled-wait-ms', '400'], { logs });
  col = await Collector.create(hub.brokerUrl, ['voice/#']);
  client = col.client;
  for (const [id, room] of [['k1', 'kitchen'], ['b1', 'bedroom']]) {
    await client.publishAsync(`voice/satellite/${id}/status`, JSON.stringify({ state: 'online', protocol: 1, room }), { qos: 1, retain: true });
  }
  await new Promise((r) => setTimeout(r, 200));
});
after(async () => {
  await col?.end();
  await hub?.stop();
  await double?.stop();
});

const ofSession = (sat: string, kind: string, sid: string) => (t: string, p: Buffer) => t === `voice/satellite/${sat}/${kind}` && jsonOf({ payload: p }).sessionId === sid;
const messages = (sat: string, kind: string, sid: string) => col.messages.filter((m) => m.topic === `voice/satellite/${sat}/${kind}` && jsonOf(m).sessionId === sid);

test('an unclaimed device intent: the honest sentence is spoken, and nothing claims success', async () => {
  const asked = double.requests.length;
  const sid = await speakSession(client, 'k1', 'turn off the kitchen light');
  const intent = jsonOf(await col.next(ofSession('k1', 'intent', sid), 15000));
  assert.equal(intent.intent, 'HassTurnOff');
  assert.deepEqual((intent.slots as Record<string, { value: unknown }>).name.value, 'light.kitchen');
  assert.equal(intent.room, 'kitchen');
  const reply = jsonOf(await col.next(ofSession('k1', 'reply', sid), 5000));
  assert.equal(reply.source, 'intent');
  assert.equal(reply.text, 'Nothing is set up to switch that off yet.');
  await col.next((t) => t === `voice/satellite/k1/tts/${sid}/stop`, 10000);
  assert.ok(col.messages.some((m) => m.topic === `voice/satellite/k1/tts/${sid}` && m.payload.length > 0), 'the sentence was spoken');
  assert.equal(double.requests.length, asked, 'the LLM was not asked');
  assert.equal(messages('k1', 'reply', sid).length, 1, 'one reply, the honest one');
});

test('an automation claims an intent: its text is spoken, and not the unhandled sentence', async () => {
  const asked = double.requests.length;
  const sid = await speakSession(client, 'k1', 'turn on the desk lamp');
  const intent = jsonOf(await col.next(ofSession('k1', 'intent', sid), 15000));
  assert.equal(intent.intent, 'HassTurnOn');
  await client.publishAsync('voice/satellite/k1/handled', JSON.stringify({ sessionId: sid, text: 'The desk lamp is on.' }), { qos: 1 });
  const reply = jsonOf(await col.next(ofSession('k1', 'reply', sid), 5000));
  assert.equal(reply.source, 'automation');
  assert.equal(reply.text, 'The desk lamp is on.');
  await col.next((t) => t === `voice/satellite/k1/tts/${sid}/stop`, 10000);
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(messages('k1', 'reply', sid).length, 1, 'no unhandled sentence after the claim');
  assert.equal(double.requests.length, asked);
});

test('a built-in intent: the hub tells the time at once', async () => {
  const sid = await speakSession(client, 'k1', 'what time is it');
  const intent = jsonOf(await col.next(ofSession('k1', 'intent', sid), 15000));
  assert.equal(intent.intent, 'HassGetCurrentTime');
  const reply = jsonOf(await col.next(ofSession('k1', 'reply', sid), 5000));
  assert.equal(reply.source, 'intent');
  assert.match(String(reply.text), /^It is \d{1,2}:\d\d [AP]M\.$/);
});

test('no intent: intent/none, and the LLM answers', async () => {
  const asked = double.requests.length;
  const sid = await speakSession(client, 'k1', 'what is the capital of france');
  const none = jsonOf(await col.next(ofSession('k1', 'intent/none', sid), 15000));
  assert.equal(typeof none.text, 'string');
  const reply = jsonOf(await col.next(ofSession('k1', 'reply', sid), 10000));
  assert.equal(reply.source, 'llm');
  assert.equal(double.requests.length, asked + 1);
  assert.equal(messages('k1', 'intent', sid).length, 0);
});

test("the satellite's room is the area of a command that names none", async () => {
  const sid = await speakSession(client, 'b1', 'turn off the lights');
  const intent = jsonOf(await col.next(ofSession('b1', 'intent', sid), 15000));
  assert.equal(intent.intent, 'HassTurnOff');
  assert.deepEqual((intent.slots as Record<string, unknown>).area, { name: 'area', value: 'bedroom', text: '', source: 'room' });
  const transcript = jsonOf(messages('b1', 'transcript', sid)[0]);
  assert.equal(transcript.decoder, 'commands', 'the command model heard it');
});

test('the hub status says what is loaded and what was heard', async () => {
  const status = jsonOf(await col.next((t) => t === 'voice/hub/status', 5000, 0));
  const loaded = status.intents as Record<string, unknown>;
  assert.equal(loaded.enabled, true);
  assert.equal(loaded.commandModel, true);
  assert.ok(Number(loaded.intents) >= 21 && Number(loaded.sentences) > Number(loaded.intents), JSON.stringify(loaded));
  const heard = hub.intents?.summary();
  assert.ok(heard && heard.matched >= 4 && heard.none >= 1, JSON.stringify(heard));
});

test('semantic end of speech: a complete command ends at once, an extensible one waits for the silence', { timeout: 120_000 }, async () => {
  // Each command after "hey jarvis", then more noise than the satellite's 1.5 s silence needs.
  const pcm = noisy(Buffer.concat([zeros(1500), speak('hey jarvis'), zeros(350), speak('what time is it'), zeros(4000), speak('hey jarvis'), zeros(350), speak('turn off the lights'), zeros(4000)]));
  const wav = path.join(TMP, 'eos.wav');
  fs.writeFileSync(wav, wavFromPcm(pcm));
  const from = col.messages.length;
  const sat = runNode('satellite/main.js', ['--mqtt-url', hub.brokerUrl, '--satellite-id', 'eos1', '--satellite-room', 'office', '--audio-source', 'wav', '--audio-wav', wav, '--vad-silence-ms', '1500', '--playback-sink', 'file', '--playback-dir', path.join(TMP, 'eos-replies')]);
  try {
    await sat.waitLog((o) => o.msg === 'audio source ended', 60000);
    const finals = () => col.messages.slice(from).filter((m) => m.topic === 'voice/satellite/eos1/transcript').map(jsonOf);
    const deadline = Date.now() + 15000;
    while (finals().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const [complete, extensible] = finals();
    assert.ok(complete && extensible, `two finals: ${JSON.stringify(finals())}`);
    const stops = col.messages.slice(from).filter((m) => /^voice\/satellite\/eos1\/audio\/[^/]+\/stop$/.test(m.topic)).map(jsonOf);
    const stopOf = (sid: unknown) => stops.find((s) => s.sessionId === sid)?.reason;
    assert.equal(complete.text, 'what time is it');
    assert.equal(complete.reason, 'complete', 'the hub ended the complete command');
    assert.equal(stopOf(complete.sessionId), 'command', 'and told the satellite to end');
    // Nothing was left to decode: the words decoded were the final at once, with no final pass in the STT process.
    const finalLog = logs.find((l) => l.msg === 'final transcript' && l.sessionId === complete.sessionId);
    assert.equal(finalLog?.decodeMs, 0, `no decoding after the command was complete: ${JSON.stringify(finalLog)}`);
    // Not the other way to a final with no decoding (no final in time: the last partial, marked incomplete).
    assert.equal(complete.incomplete, undefined);
    assert.equal(logs.find((l) => l.msg === 'a complete command: ending the session' && l.sessionId === complete.sessionId)?.finalNow, true);
    assert.equal(extensible.text, 'turn off the lights');
    assert.equal(extensible.reason, 'stop', 'an extensible command waited for the satellite');
    assert.equal(stopOf(extensible.sessionId), 'silence');
  } finally {
    await sat.stop();
  }
});
