/** STT engines: real pocketsphinx on flite speech; Vosk's missing library, missing model and invalid model are coded errors. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { VoiceError } from '../common/errors';
import { commandModel } from '../hub/intents/command-model';
import { BUILTIN_INTENTS, loadIntents } from '../hub/intents/load';
import { PocketsphinxEngine } from '../hub/stt/pocketsphinx';
import { defaultVoskLibrary, VoskEngine } from '../hub/stt/vosk';
import { loadConfig } from '../common/config';
import { type HubConfig, hubSchema } from '../config/hub';
import { brokenVoskModelDir, runNode, silence, speak, TMP, wer } from './helpers';

const { config } = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: [], env: {} });

test('pocketsphinx transcribes flite speech, streaming, with partials and an endpoint', () => {
  const engine = new PocketsphinxEngine(config.stt.pocketsphinx);
  engine.load();
  const spoken = 'what is the weather like today';
  const pcm = Buffer.concat([speak(spoken), silence(1000)]);
  const rec = engine.createRecognizer();
  const partials = new Set<string>();
  let endpoint = false;
  for (let off = 0; off < pcm.length; off += 3200) {
    const chunk = pcm.subarray(off, off + 3200);
    const r = rec.accept(new Int16Array(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength)));
    if (r.partial) partials.add(r.partial);
    endpoint ||= r.endpoint;
  }
  const f = rec.final();
  rec.free();
  assert.ok(partials.size >= 2, 'partials change as speech goes on');
  assert.ok(endpoint, 'the engine detects the end of speech');
  assert.ok(wer(spoken, f.text).rate <= 0.35, `"${f.text}"`);
  // The decoder went back to the pool and is reused.
  assert.deepEqual(engine.stats, { live: 0, idle: 1 });
  const again = engine.createRecognizer();
  assert.deepEqual(engine.stats, { live: 1, idle: 0 });
  again.free();
  engine.unload();
});

test('pocketsphinx with a missing model directory is VOICE_STT_MODEL_MISSING', () => {
  const engine = new PocketsphinxEngine({ ...config.stt.pocketsphinx, hmm: '/nonexistent/en-us' });
  assert.throws(() => engine.load(), (e: unknown) => e instanceof VoiceError && e.code === 'VOICE_STT_MODEL_MISSING');
});

test('pocketsphinx with a missing library is VOICE_STT_LIBRARY_MISSING', () => {
  const engine = new PocketsphinxEngine({ ...config.stt.pocketsphinx, library: '/nonexistent/libpocketsphinx.so.3' });
  assert.throws(() => engine.load(), (e: unknown) => e instanceof VoiceError && e.code === 'VOICE_STT_LIBRARY_MISSING' && /apt-get install/.test(e.message));
});

test('pocketsphinx with a command model it cannot read: a warning, and sessions decode with the general model alone', () => {
  const bad = path.join(TMP, 'not-an-arpa.arpa');
  fs.writeFileSync(bad, 'this is not an ARPA language model\n');
  const notices: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const engine = new PocketsphinxEngine(config.stt.pocketsphinx, { lm: bad }, (level, msg, fields) => notices.push({ level, msg, fields }));
  engine.load();
  try {
    assert.equal(notices.length, 1, JSON.stringify(notices));
    assert.equal(notices[0].level, 'warn');
    assert.match(notices[0].msg, /command model could not be loaded.*general model alone/);
    assert.equal(notices[0].fields?.lm, bad);
    assert.equal(engine.stats.commands, undefined, 'no command-model bank');
    const rec = engine.createRecognizer();
    const pcm = Buffer.concat([speak('what time is it'), silence(500)]);
    const r = rec.accept(new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength)));
    const f = rec.final();
    rec.free();
    assert.equal(r.commands, undefined);
    assert.equal(f.commands, undefined);
    assert.ok(wer('what time is it', f.text).rate <= 0.5, `the general model still hears: "${f.text}"`);
  } finally {
    engine.unload();
  }
});

test('stt.pocketsphinx.commandArgs go to the command model\'s decoder only: ones pocketsphinx refuses cost the command model, not the general one', () => {
  const lm = commandModel(loadIntents([BUILTIN_INTENTS]), fs.mkdtempSync(path.join(TMP, 'cmd-args-'))).lm;
  const load = (commandArgs: string) => {
    const notices: string[] = [];
    const engine = new PocketsphinxEngine({ ...config.stt.pocketsphinx, commandArgs }, { lm }, (_level, msg) => notices.push(msg));
    engine.load();
    return { engine, notices };
  };
  const good = load(config.stt.pocketsphinx.commandArgs);
  try {
    assert.deepEqual(good.notices, []);
    assert.ok(good.engine.stats.commands, 'the default command args load a command-model bank');
  } finally {
    good.engine.unload();
  }
  const bad = load('-no_such_argument 1');
  try {
    assert.equal(bad.notices.length, 1, JSON.stringify(bad.notices));
    assert.match(bad.notices[0], /command model could not be loaded/);
    assert.equal(bad.engine.stats.commands, undefined, 'no command-model bank');
    const rec = bad.engine.createRecognizer();
    const pcm = Buffer.concat([speak('what time is it'), silence(500)]);
    rec.accept(new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength)));
    const f = rec.final();
    rec.free();
    assert.ok(wer('what time is it', f.text).rate <= 0.5, `the general decoder did not get them: "${f.text}"`);
  } finally {
    bad.engine.unload();
  }
});

test('Vosk with no model is VOICE_STT_MODEL_MISSING (checked before the library is touched)', () => {
  const engine = new VoskEngine({ model: path.join(TMP, 'no-such-model'), library: '' });
  assert.throws(() => engine.load(), (e: unknown) => e instanceof VoiceError && e.code === 'VOICE_STT_MODEL_MISSING' && /models\/README.md/.test(e.message));
});

const fakeModelDir = () => brokenVoskModelDir('fake-vosk-model');

test('Vosk with no library is VOICE_STT_LIBRARY_MISSING', () => {
  const engine = new VoskEngine({ model: fakeModelDir(), library: path.join(TMP, 'libvosk-missing.so') });
  assert.throws(() => engine.load(), (e: unknown) => e instanceof VoiceError && e.code === 'VOICE_STT_LIBRARY_MISSING' && /install-libvosk/.test(e.message));
});

test('Vosk with a corrupt model is VOICE_STT_MODEL_INVALID, not a segfault', { skip: fs.existsSync(defaultVoskLibrary()) ? false : `libvosk not installed at ${defaultVoskLibrary()} (scripts/install-libvosk.sh)` }, () => {
  // libvosk returns NULL for a bad model; a recognizer on NULL would segfault the process.
  const engine = new VoskEngine({ model: fakeModelDir(), library: '' });
  assert.throws(() => engine.load(), (e: unknown) => e instanceof VoiceError && e.code === 'VOICE_STT_MODEL_INVALID');
});

test('a hub told to use Vosk without a model exits 78 with VOICE_STT_MODEL_MISSING', async () => {
  const hub = runNode('hub/main.js', ['--broker-port', '0', '--stt-engine', 'vosk', '--stt-vosk-model', path.join(TMP, 'absent-model')]);
  const code = await hub.waitExit();
  assert.equal(code, 78);
  assert.ok(hub.lines.some((l) => l.includes('VOICE_STT_MODEL_MISSING')), hub.lines.join('\n'));
});
