/**
 * Piper through the real code: a tiny generated ONNX voice with Piper's
 * exact inputs and outputs (test/fixtures/make-piper-voice.py) is loaded,
 * text is phonemized by piper_phonemize (espeak-ng, WebAssembly), mapped to
 * ids with the voice's phoneme_id_map and synthesized; the hub speaks with it.
 * No real voice can be had here, so intelligibility is tested with flite.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { VoiceError } from '../common/errors';
import { PiperEngine, PiperPhonemizer, phonemesToIds } from '../hub/tts/piper';
import { owwModelDir } from '../satellite/wake/openwakeword';
import { Collector, jsonOf, ROOT, runNode, TMP } from './helpers';
import { startHub } from './hub-helpers';

const VOICE = path.join(ROOT, 'test', 'fixtures', 'tiny-piper.onnx');
const MAP = (JSON.parse(fs.readFileSync(`${VOICE}.json`, 'utf8')) as { phoneme_id_map: Record<string, number[]> }).phoneme_id_map;

test('the fixture voices carry the phoneme_id_map of a real Piper voice (en_US-lessac-medium)', () => {
  assert.equal(Object.keys(MAP).length, 154);
  assert.deepEqual([MAP._, MAP['^'], MAP.$, MAP[' '], MAP['.'], MAP['?']], [[0], [1], [2], [3], [10], [13]]);
  assert.deepEqual([MAP.h, MAP['ɡ'], MAP['ə'], MAP['ˈ'], MAP['ⱱ'], MAP['0'], MAP['\u0303'], MAP['\u033b']], [[20], [66], [59], [120], [129], [130], [141], [153]]);
  assert.equal(MAP.g, undefined, 'espeak-ng writes ɡ (U+0261), so lessac has no ASCII g');
  const multi = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'tiny-piper-multi.onnx.json'), 'utf8')) as { phoneme_id_map: unknown; num_speakers: number };
  assert.deepEqual(multi.phoneme_id_map, MAP);
  assert.equal(multi.num_speakers, 4);
});

test('piper_phonemize runs in Node and gives espeak phonemes per sentence', async () => {
  const p = new PiperPhonemizer();
  await p.start();
  const sentences = p.phonemize('Hello world. How are you?', 'en-us');
  assert.equal(sentences.length, 2);
  assert.equal(sentences[0]?.join(''), 'həlˈoʊ wˈɜːld.');
  assert.equal(sentences[1]?.at(-1), '?', 'punctuation is kept, as Piper does');
});

test("phonemes -> ids follows Piper: ^ _ then each phoneme's ids and _ , then $", () => {
  const { ids, missing } = phonemesToIds(['h', 'ə', 'l', '!', '☃'], MAP);
  assert.deepEqual(ids, [1, 0, ...(MAP.h), 0, ...(MAP['ə']), 0, ...(MAP.l), 0, 4, 0, 2]);
  assert.deepEqual(missing, ['☃']);
});

test('the fixture voice loads and synthesizes: audio length follows the ids and the length scale', async () => {
  const e = new PiperEngine({ voice: VOICE, speaker: 0, lengthScale: 0 });
  await e.start();
  assert.equal(e.format.rate, 22050);
  const ids = e.ids('Turn on the light. Thank you!');
  assert.equal(ids.length, 2);
  for (const s of ids) {
    assert.equal(s[0], 1);
    assert.equal(s.at(-1), 2);
  }
  let bytes = 0;
  for await (const c of e.synthesize('Turn on the light. Thank you!', new AbortController().signal)) bytes += c.length;
  const expected = ids.reduce((n, s) => n + s.length * 256, 0);
  assert.equal(bytes / 2, expected, 'one sentence after another, 256 samples per id from the model');
  const pcm = await e.infer(ids[0]);
  const peak = Math.max(...Array.from({ length: pcm.length / 2 }, (_, i) => Math.abs(pcm.readInt16LE(i * 2))));
  assert.ok(peak > 30000, 'normalised to the int16 range like Piper');
  await e.stop();

  const fast = new PiperEngine({ voice: VOICE, speaker: 0, lengthScale: 0.5 });
  await fast.start();
  assert.equal((await fast.infer(ids[0])).length / 2, Math.floor(((ids[0]).length * 256) / 2), 'length_scale reaches the model');
  await fast.stop();
});

test('an abort stops synthesis between sentences', async () => {
  const e = new PiperEngine({ voice: VOICE, speaker: 0, lengthScale: 0 });
  await e.start();
  const ctl = new AbortController();
  let chunks = 0;
  for await (const chunk of e.synthesize('One. Two. Three. Four.', ctl.signal)) {
    chunks += chunk.length > 0 ? 1 : 0;
    ctl.abort();
  }
  assert.equal(chunks, 1);
  await e.stop();
});

test('missing and invalid voices are coded errors; an explicit Piper voice that is missing stops the hub with 78', async () => {
  await assert.rejects(new PiperEngine({ voice: path.join(TMP, 'none.onnx'), speaker: 0, lengthScale: 0 }).start(), (e: unknown) => e instanceof VoiceError && e.code === 'VOICE_TTS_VOICE_MISSING');
  // A real ONNX model that is not a Piper voice (the wake-word model), with a config beside it.
  const fake = path.join(TMP, 'not-piper.onnx');
  fs.copyFileSync(path.join(owwModelDir(), 'hey_jarvis_v0.1.onnx'), fake);
  fs.copyFileSync(`${VOICE}.json`, `${fake}.json`);
  await assert.rejects(new PiperEngine({ voice: fake, speaker: 0, lengthScale: 0 }).start(), (e: unknown) => e instanceof VoiceError && e.code === 'VOICE_TTS_VOICE_INVALID' && /not a Piper voice/.test(e.message));
  const hub = runNode('hub/main.js', ['--broker-port', '0', '--stt-workers', '1', '--tts-engine', 'piper', '--tts-piper-voice', path.join(TMP, 'none.onnx')]);
  assert.equal(await hub.waitExit(), 78);
  assert.ok(hub.lines.some((l) => l.includes('VOICE_TTS_VOICE_MISSING')));
});

test('the hub speaks with the Piper voice (announcement)', async () => {
  const hub = await startHub(['--tts-engine', 'piper', '--tts-piper-voice', VOICE]);
  const col = await Collector.create(hub.brokerUrl, ['voice/satellite/pp/#']);
  try {
    await col.client.publishAsync('voice/satellite/pp/status', JSON.stringify({ state: 'online', protocol: 1, room: 'den' }), { qos: 1 });
    await new Promise((r) => setTimeout(r, 100));
    await col.client.publishAsync('voice/satellite/pp/announce', 'Time for bed.', { qos: 1 });
    const start = jsonOf(await col.next((t) => /tts\/[^/]+\/start$/.test(t), 10000));
    assert.equal(start.engine, 'piper');
    assert.deepEqual(start.format, { encoding: 's16le', rate: 22050, channels: 1 });
    await col.next((t) => /tts\/[^/]+\/stop$/.test(t), 10000);
    const audio = col.messages.filter((m) => /tts\/[^/]+$/.test(m.topic)).reduce((n, m) => n + m.payload.length, 0);
    assert.ok(audio > 22050 * 2 * 0.2, 'audio was streamed');
  } finally {
    await col.end();
    await hub.stop();
  }
});
