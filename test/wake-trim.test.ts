/**
 * The hub drops what the wake word produced from transcripts: unit rules of
 * afterWake, then a real hub (in-process, real aedes, real pocketsphinx
 * workers) fed "hey jarvis", a pause and a command over a noise floor by a raw
 * client, once with audio/start's wakeMs (a spoken wake word) and once
 * without (a listen command): only the first loses the wake words, in its
 * final and in every partial.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { BYTES_PER_MS } from '../common/protocol';
import { afterWake, wakePhrase } from '../hub/sessions/wake-trim';
import { textOf } from '../hub/stt/engine';
import { Noise, noisySpeech, sleep } from './cover-helpers';
import { Collector, jsonOf, wer } from './helpers';
import { startHub } from './hub-helpers';
import { adminAuth } from './credentials';

const w = (word: string, startMs?: number, endMs?: number) => ({ word, startMs, endMs });

test('afterWake drops the leading words that end by wakeMs + margin, and nothing else', () => {
  const words = [w('it\'s', 100, 400), w('turn', 420, 700), w('off', 700, 900)];
  assert.deepEqual(textOf(afterWake(words, 300, 100).kept), 'turn off');
  assert.deepEqual(textOf(afterWake(words, 300, 100).dropped), 'it\'s');
  // A word that ends after the cut is the command's, even if it began before the fire point.
  assert.equal(textOf(afterWake(words, 300, 99).kept), 'it\'s turn off');
  // Only leading words: a later word is never dropped.
  assert.equal(textOf(afterWake([w('turn', 500, 700), w('a', 100, 200)], 300, 100).kept), 'turn a');
  // No wake word (listen, follow-up): everything is kept.
  assert.equal(textOf(afterWake(words, undefined, 100).kept), 'it\'s turn off');
  // Words without timings (an engine that gives none) are kept.
  assert.equal(textOf(afterWake([w('it\'s'), w('turn')], 300, 100).kept), 'it\'s turn');
});

test('afterWake: when the recognizer heard the wake phrase\'s last word, what follows it is the command, even before a late fire point', () => {
  // "hey jarvis is the back door locked", run on; the detector fired 250 ms after "jarvis" ended.
  const words = [w('hey', 0, 150), w('jarvis', 150, 600), w('is', 600, 700), w('the', 700, 800), w('back', 800, 1000), w('door', 1000, 1300)];
  const phrase = wakePhrase('hey_jarvis');
  assert.equal(textOf(afterWake(words, 850, 100, phrase).kept), 'is the back door');
  assert.equal(textOf(afterWake(words, 850, 100, phrase).dropped), 'hey jarvis');
  // Without the phrase, the time rule alone drops the command's first words.
  assert.equal(textOf(afterWake(words, 850, 100).kept), 'back door');
  // The phrase's word counts only among the words that end by the cut: a later "jarvis" is the command's.
  assert.equal(textOf(afterWake([w('it\'s', 100, 400), w('call', 420, 700), w('jarvis', 700, 1200)], 300, 100, phrase).kept), 'call jarvis');
  // Fragments after the heard phrase word are kept only when the phrase word was heard: debris without it is dropped by time.
  assert.equal(textOf(afterWake([w('k', 0, 150), w('it\'s', 150, 400), w('turn', 420, 700)], 300, 100, phrase).kept), 'turn');
  assert.deepEqual(wakePhrase('hey_jarvis_v0.1'), ['hey', 'jarvis']);
  assert.deepEqual(wakePhrase('Alexa'), ['alexa']);
});

const COMMAND = 'turn off the kitchen light';

/** Streams like a satellite: 80 ms frames at real-time pace, then stop. */
async function session(client: MqttClient, sat: string, pcm: Buffer, wakeMs: number | undefined): Promise<string> {
  const sid = randomUUID();
  const time = new Date().toISOString();
  const T = `voice/satellite/${sat}`;
  await client.publishAsync(`${T}/wake`, JSON.stringify({ sessionId: sid, wakeWord: 'hey_jarvis', score: 0.9, time, room: sat }), { qos: 1 });
  await client.publishAsync(`${T}/audio/${sid}/start`, JSON.stringify({ sessionId: sid, format: { encoding: 's16le', rate: 16000, channels: 1 }, preRollMs: wakeMs ?? 0, wakeMs, time }), { qos: 1 });
  for (let off = 0; off < pcm.length; off += 2560) {
    await client.publishAsync(`${T}/audio/${sid}`, pcm.subarray(off, off + 2560), { qos: 0 });
    await sleep(80);
  }
  await client.publishAsync(`${T}/audio/${sid}/stop`, JSON.stringify({ sessionId: sid, reason: 'silence', time }), { qos: 1 });
  return sid;
}

/** An in-process hub with `args`, a collector on `topics` and a raw client; all closed after the test. */
async function setup(t: { after: (fn: () => Promise<unknown>) => void }, args: string[], topics: string[]): Promise<{ col: Collector; client: MqttClient }> {
  const hub = await startHub(['--reply-enabled', 'false', ...args]);
  t.after(() => hub.stop());
  const col = await Collector.create(hub.brokerUrl, topics);
  t.after(() => col.end());
  const client = await mqtt.connectAsync(hub.brokerUrl, adminAuth(hub.brokerUrl));
  t.after(() => client.endAsync());
  return { col, client };
}

test('a session opened by a spoken wake word loses the wake words in partials and final; one without wakeMs keeps them', async (t) => {
  const { col, client } = await setup(t, ['--session-endpoint', 'false'], ['voice/satellite/+/transcript', 'voice/satellite/+/transcript/partial', 'voice/satellite/+/error']);

  const noise = new Noise(5);
  const wakeWord = Buffer.concat([noise.floor(300), noisySpeech('hey jarvis', noise)]);
  const pcm = Buffer.concat([wakeWord, noise.floor(700), noisySpeech(COMMAND, noise), noise.floor(600)]);
  // The detector fired right at the end of "hey jarvis".
  const wakeMs = wakeWord.length / BYTES_PER_MS;

  const listened = await session(client, 'plain', pcm, undefined);
  const plain = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/plain/transcript' && jsonOf({ payload: p }).sessionId === listened, 30000));
  const woke = await session(client, 'woken', pcm, wakeMs);
  const final = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/woken/transcript' && jsonOf({ payload: p }).sessionId === woke, 30000));

  const plainWords = String(plain.text).split(' ');
  const first = plainWords.findIndex((x) => COMMAND.split(' ').includes(x));
  const wakeWords = plainWords.slice(0, first);
  assert.ok(wakeWords.length > 0, `without wakeMs the wake word reaches the transcript: "${String(plain.text)}"`);
  const text = String(final.text);
  assert.ok(wer(COMMAND, text).rate <= 0.4, `"${text}" is far from "${COMMAND}"`);
  for (const x of wakeWords) assert.ok(!text.split(' ').includes(x), `"${x}" of the wake word is in the final "${text}"`);
  const partials = col.json((tp) => tp === 'voice/satellite/woken/transcript/partial').filter((p) => p.sessionId === woke);
  assert.ok(partials.length > 0, 'the woken session has partials');
  for (const p of partials) {
    const firstWord = String(p.text).split(' ')[0];
    assert.ok(!wakeWords.includes(firstWord), `partial "${String(p.text)}" starts with the wake word's "${firstWord}"`);
  }
});

test('the engine endpoint after the wake word and a pause does not end the session: it ends after the command', async (t) => {
  // endpointMinMs 0: only the rule "an endpoint needs a word of the command" keeps the session open.
  const { col, client } = await setup(t, ['--session-endpoint-min-ms', '0'], ['voice/satellite/+/transcript']);
  const noise = new Noise(9);
  const wakeWord = Buffer.concat([noise.floor(300), noisySpeech('hey jarvis', noise)]);
  const pcm = Buffer.concat([wakeWord, noise.floor(1200), noisySpeech(COMMAND, noise), noise.floor(900)]);
  const sid = await session(client, 'paused', pcm, wakeWord.length / BYTES_PER_MS);
  const final = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/paused/transcript' && jsonOf({ payload: p }).sessionId === sid, 30000));
  assert.ok(wer(COMMAND, String(final.text)).rate <= 0.4, `the session ended on "${String(final.text)}" (${String(final.reason)}), not after "${COMMAND}"`);
});
