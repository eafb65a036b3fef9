/**
 * Piper through the real code: tiny generated ONNX voices with Piper's exact
 * inputs and outputs and a real voice's phoneme_id_map
 * (test/fixtures/make-piper-voice.py) are loaded, text is phonemized by
 * piper_phonemize (espeak-ng, WebAssembly), mapped to ids with the voice's
 * map and synthesized; the hub speaks with it. No real voice can be had
 * here, so intelligibility is tested with flite. The long runs (1,000
 * sentences, 30 KB) are in piper-endurance.test.ts.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { VoiceError } from '../common/errors';
import { PiperEngine, PiperPhonemizer, phonemesToIds } from '../hub/tts/piper';
import { PIECE_CHARS, splitText, textPhonemes } from '../hub/tts/piper-text';
import { owwModelDir } from '../satellite/wake/openwakeword';
import { Collector, jsonOf, ROOT, runNode, TMP } from './helpers';
import { startHub } from './hub-helpers';

const FIXTURES = path.join(ROOT, 'test', 'fixtures');
const VOICE = path.join(FIXTURES, 'tiny-piper.onnx');
const MULTI = path.join(FIXTURES, 'tiny-piper-multi.onnx');
const MAP = (JSON.parse(fs.readFileSync(`${VOICE}.json`, 'utf8')) as { phoneme_id_map: Record<string, number[]> }).phoneme_id_map;
const never = new AbortController().signal;

/** The fixture voice's model and a copy of its config changed by `edit`, under a new name in TMP. */
function variant(name: string, edit: (cfg: Record<string, unknown>) => void): string {
  const file = path.join(TMP, `${name}.onnx`);
  fs.copyFileSync(VOICE, file);
  const cfg = JSON.parse(fs.readFileSync(`${VOICE}.json`, 'utf8')) as Record<string, unknown>;
  edit(cfg);
  fs.writeFileSync(`${file}.json`, JSON.stringify(cfg));
  return file;
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk: Buffer, _e, cb) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb(); } });
  return { log: pino({ level: 'info' }, stream), lines };
}

async function pcmOf(e: PiperEngine, text: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of e.synthesize(text, never)) parts.push(c);
  return Buffer.concat(parts);
}

const isCode = (code: string) => (e: unknown) => e instanceof VoiceError && e.code === code;

test('the fixture voices carry the phoneme_id_map of a real Piper voice (en_US-lessac-medium)', () => {
  assert.equal(Object.keys(MAP).length, 154);
  assert.deepEqual([MAP._, MAP['^'], MAP.$, MAP[' '], MAP['.'], MAP['?']], [[0], [1], [2], [3], [10], [13]]);
  assert.deepEqual([MAP.h, MAP['ɡ'], MAP['ə'], MAP['ˈ'], MAP['ⱱ'], MAP['0'], MAP['\u0303'], MAP['\u033b']], [[20], [66], [59], [120], [129], [130], [141], [153]]);
  assert.equal(MAP.g, undefined, 'espeak-ng writes ɡ (U+0261), so lessac has no ASCII g');
  const multi = JSON.parse(fs.readFileSync(`${MULTI}.json`, 'utf8')) as { phoneme_id_map: unknown; num_speakers: number };
  assert.deepEqual(multi.phoneme_id_map, MAP);
  assert.equal(multi.num_speakers, 4);
});

test('piper_phonemize runs in Node and gives espeak phonemes per sentence', async () => {
  const p = new PiperPhonemizer();
  await p.start();
  const sentences = await p.phonemize('Hello world. How are you?', 'en-us');
  assert.equal(sentences.length, 2);
  assert.equal(sentences[0]?.join(''), 'həlˈoʊ wˈɜːld.');
  assert.equal(sentences[1]?.at(-1), '?', 'punctuation is kept, as Piper does');
});

test("phonemes -> ids follows Piper: ^ _ then each phoneme's ids and _ , then $; unknown phonemes are skipped and counted", () => {
  const missing = new Map<string, number>();
  const ids = phonemesToIds(['h', 'ə', 'ɡ', '!', '☃', '☃'], MAP, missing);
  assert.deepEqual(ids, [1, 0, 20, 0, 59, 0, 66, 0, 4, 0, 2]);
  assert.deepEqual([...missing], [['☃', 2]]);
});

test('text is cut into pieces the phonemizer takes: whole sentences first, then clauses, then words', () => {
  assert.deepEqual(splitText('  Turn on the light. Thanks!  '), ['Turn on the light. Thanks!']);
  assert.deepEqual(splitText(''), []);
  // Sentences stay whole and are packed into pieces.
  const sentence = (i: number) => `Sentence number ${i} ends here, Dr. Smith said at 3.5 p.m. today.`;
  const text = Array.from({ length: 40 }, (_, i) => sentence(i)).join(' ');
  const pieces = splitText(text);
  assert.ok(pieces.length > 1 && pieces.every((p) => p.length <= PIECE_CHARS));
  assert.equal(pieces.join(' '), text, 'nothing lost, nothing reordered');
  for (const p of pieces) assert.match(p, /^Sentence number \d+ .*today\.$/, 'cut only between sentences');
  // One long sentence: cut after clauses.
  const long = Array.from({ length: 30 }, (_, i) => `clause ${i} of a very long sentence`).join(', ');
  const clauses = splitText(long);
  assert.ok(clauses.length > 1 && clauses.every((p) => p.length <= PIECE_CHARS));
  for (const p of clauses.slice(0, -1)) assert.match(p, /sentence,$/);
  assert.equal(clauses.join(' '), long);
  // No punctuation at all: between words; a word longer than a piece is cut inside.
  const words = 'word '.repeat(300).trim();
  assert.ok(splitText(words).every((p) => p.length <= PIECE_CHARS && /^word( word)*$/.test(p)));
  const blob = 'x'.repeat(1200);
  assert.deepEqual(splitText(blob).map((p) => p.length), [500, 500, 200]);
});

test('the fixture voice loads and synthesizes: audio length follows the ids and the length scale', async () => {
  const e = new PiperEngine({ voice: VOICE, speaker: 0, lengthScale: 0 });
  await e.start();
  assert.equal(e.format.rate, 22050);
  const ids = await e.ids('Turn on the light. Thank you!');
  assert.equal(ids.length, 2);
  for (const s of ids) {
    assert.equal(s[0], 1);
    assert.equal(s.at(-1), 2);
  }
  // "Thank you!" = θˈæŋk juː! with lessac's ids
  assert.deepEqual(ids[1], [1, 0, 126, 0, 120, 0, 39, 0, 44, 0, 23, 0, 3, 0, 22, 0, 33, 0, 122, 0, 4, 0, 2]);
  const bytes = (await pcmOf(e, 'Turn on the light. Thank you!')).length;
  const expected = ids.reduce((n, s) => n + s.length * 256, 0);
  assert.equal(bytes / 2, expected, 'one sentence after another, 256 samples per id from the model');
  const pcm = await e.infer(ids[0]);
  const peak = Math.max(...Array.from({ length: pcm.length / 2 }, (_, i) => Math.abs(pcm.readInt16LE(i * 2))));
  assert.ok(peak > 30000, 'normalised to the int16 range like Piper');
  await e.stop();

  const fast = new PiperEngine({ voice: VOICE, speaker: 0, lengthScale: 0.5 });
  await fast.start();
  assert.equal((await fast.infer(ids[0])).length / 2, Math.floor((ids[0].length * 256) / 2), 'length_scale reaches the model');
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

test('an unknown phoneme is skipped with a logged warning and the rest is spoken; sentences stay split right', async () => {
  // Belarusian: espeak-ng writes affricates with a tie bar (t͡s), which neither piper_phonemize's
  // own map nor lessac's has. Without --allow_missing_phonemes the tool prints nothing for the text.
  const voice = variant('piper-be', (c) => {
    c.espeak = { voice: 'be' };
  });
  const { log, lines } = capture();
  const e = new PiperEngine({ voice, speaker: 0, lengthScale: 0 }, log);
  await e.start();
  const text = 'Цаца. Добры дзень.';
  const ids = await e.ids(text);
  assert.equal(ids.length, 2, 'two sentences, split where espeak-ng splits them');
  // ^ _ t s ˈ a t s a . $ : the tie bars are gone, every other phoneme is there
  assert.deepEqual(ids[0], [1, 0, 32, 0, 31, 0, 120, 0, 14, 0, 32, 0, 31, 0, 14, 0, 10, 0, 2]);
  assert.equal(ids[1].at(-3), 10, 'the second sentence ends with its own period');
  const pcm = await pcmOf(e, text);
  assert.equal(pcm.length / 2, ids.reduce((n, s) => n + s.length * 256, 0), 'both sentences were spoken in full');
  const warn = lines.find((l) => l.level === 40 && /skipped/.test(String(l.msg)));
  assert.ok(warn, 'a warning is logged');
  assert.deepEqual(warn.missing, ['\u0361 (U+0361) x3']);
  await e.stop();
});

test('the multi-speaker fixture speaks with the configured sid', async () => {
  // The fixture adds 0.05 * (sid + 1) rad per sample to each id's rate: the audio of each speaker is
  // computed here and the engine's output must match its own speaker's and no other.
  const ids = [1, 0, 20, 0, 59, 0, 24, 0, 120, 0, 27, 0, 100, 0, 10, 0, 2];
  const wave = (sid: number) => Float64Array.from({ length: ids.length * 256 }, (_, t) => Math.sin((ids[Math.floor(t / 256)] * 0.0005 + 0.05 * (sid + 1)) * t));
  const corr = (pcm: Buffer, w: Float64Array) => {
    let xy = 0;
    let xx = 0;
    let yy = 0;
    for (let i = 0; i < w.length; i++) {
      const x = pcm.readInt16LE(i * 2);
      xy += x * w[i];
      xx += x * x;
      yy += w[i] * w[i];
    }
    return xy / Math.sqrt(xx * yy);
  };
  const outputs: Buffer[] = [];
  for (const sid of [0, 1, 2, 3]) {
    const e = new PiperEngine({ voice: MULTI, speaker: sid, lengthScale: 0 });
    await e.start();
    const pcm = await e.infer(ids);
    await e.stop();
    assert.equal(pcm.length / 2, ids.length * 256);
    const scores = [0, 1, 2, 3].map((s) => corr(pcm, wave(s)));
    assert.ok(scores[sid] > 0.99, `speaker ${sid} matches its own voice (${scores.map((s) => s.toFixed(3)).join(' ')})`);
    for (const [s, c] of scores.entries()) if (s !== sid) assert.ok(Math.abs(c) < 0.2, `speaker ${sid} is not speaker ${s} (${c.toFixed(3)})`);
    outputs.push(pcm);
  }
  assert.notDeepEqual(outputs[0], outputs[1]);
  // Through the whole path too: text in, speaker 2's audio out.
  const e = new PiperEngine({ voice: MULTI, speaker: 2, lengthScale: 0 });
  await e.start();
  const [s] = await e.ids('Hello.');
  assert.deepEqual(s, ids);
  assert.deepEqual(await pcmOf(e, 'Hello.'), outputs[2]);
  await e.stop();
});

test('a speaker id out of range is refused at start with VOICE_TTS_SPEAKER_INVALID', async () => {
  await assert.rejects(new PiperEngine({ voice: MULTI, speaker: 4, lengthScale: 0 }).start(), (e: unknown) => isCode('VOICE_TTS_SPEAKER_INVALID')(e) && /has 4 speakers: use 0-3 \(0 ann, 1 bob, 2 cat, 3 dan\)/.test((e as Error).message));
  await assert.rejects(new PiperEngine({ voice: VOICE, speaker: 1, lengthScale: 0 }).start(), (e: unknown) => isCode('VOICE_TTS_SPEAKER_INVALID')(e) && /has 1 speaker: use 0$/.test((e as Error).message));
  // A voice saying it has several speakers but with no sid input is not a usable voice.
  const noSid = variant('piper-nosid', (c) => {
    c.num_speakers = 3;
  });
  await assert.rejects(new PiperEngine({ voice: noSid, speaker: 1, lengthScale: 0 }).start(), isCode('VOICE_TTS_VOICE_INVALID'));
  const hub = runNode('hub/main.js', ['--broker-port', '0', '--stt-workers', '1', '--tts-engine', 'piper', '--tts-piper-voice', MULTI, '--tts-piper-speaker', '7']);
  assert.equal(await hub.waitExit(), 78);
  assert.ok(hub.lines.some((l) => l.includes('VOICE_TTS_SPEAKER_INVALID')));
});

test('"text" phoneme type voices are spoken from their codepoints; other types are refused at start', async () => {
  const textVoice = variant('piper-text', (c) => {
    c.phoneme_type = 'text';
  });
  const e = new PiperEngine({ voice: textVoice, speaker: 0, lengthScale: 0 });
  await e.start();
  assert.equal(e.phonemizer.stats.instances, 0, 'no espeak-ng for a text voice');
  // NFD codepoints; "H" and "B" are not in the map, their folded forms are; "é" is e + U+0301, which it lacks.
  const missing = new Map<string, number>();
  assert.deepEqual(await e.ids('Hi, Bé.', missing), [[1, 0, 20, 0, 21, 0, 8, 0, 3, 0, 15, 0, 18, 0, 10, 0, 2]]);
  assert.deepEqual([...missing], [['\u0301', 1]]);
  assert.deepEqual(textPhonemes('Ab', { a: [1], A: [2], b: [3] }), ['A', 'b'], 'a codepoint the map has is kept as it is');
  assert.ok((await pcmOf(e, 'Hi, Bob.')).length > 0);
  await e.stop();
  const pinyin = variant('piper-pinyin', (c) => {
    c.phoneme_type = 'pinyin';
  });
  await assert.rejects(new PiperEngine({ voice: pinyin, speaker: 0, lengthScale: 0 }).start(), (e: unknown) => isCode('VOICE_TTS_VOICE_UNSUPPORTED')(e) && /"pinyin"/.test((e as Error).message));
});

test('missing and invalid voices are coded errors; an explicit Piper voice that is missing stops the hub with 78', async () => {
  await assert.rejects(new PiperEngine({ voice: path.join(TMP, 'none.onnx'), speaker: 0, lengthScale: 0 }).start(), isCode('VOICE_TTS_VOICE_MISSING'));
  // A real ONNX model that is not a Piper voice (the wake-word model), with a config beside it.
  const fake = path.join(TMP, 'not-piper.onnx');
  fs.copyFileSync(path.join(owwModelDir(), 'hey_jarvis_v0.1.onnx'), fake);
  fs.copyFileSync(`${VOICE}.json`, `${fake}.json`);
  await assert.rejects(new PiperEngine({ voice: fake, speaker: 0, lengthScale: 0 }).start(), (e: unknown) => isCode('VOICE_TTS_VOICE_INVALID')(e) && /not a Piper voice/.test((e as Error).message));
  const badEspeak = variant('piper-bad-espeak', (c) => {
    c.espeak = { voice: 'xx-nonesuch' };
  });
  await assert.rejects(new PiperEngine({ voice: badEspeak, speaker: 0, lengthScale: 0 }).start(), (e: unknown) => isCode('VOICE_TTS_VOICE_INVALID')(e) && /xx-nonesuch/.test((e as Error).message));
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
