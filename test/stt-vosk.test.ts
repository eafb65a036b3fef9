/**
 * Vosk as upstream means it, without a model: the hub's Vosk code runs
 * against a fake libvosk (test/fixtures/fake-libvosk.c, built here with cc)
 * whose results are scripted and whose calls are logged. A libvosk too old
 * to be safe is refused at start with VOICE_STT_LIBRARY_UNSUPPORTED before
 * any model is loaded; the API loads twice in one thread.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { VoiceError } from '../common/errors';
import { defaultVoskLibrary, VoskEngine } from '../hub/stt/vosk';
import { loadVoskApi } from '../hub/stt/vosk-api';
import { buildFakeVosk, FakeVosk, fakeVoskModelDir } from './fake-vosk';
import { runNode } from './helpers';

test('a libvosk older than 0.3.37 is refused with VOICE_STT_LIBRARY_UNSUPPORTED before any model is loaded', () => {
  const fake = new FakeVosk('old-engine');
  fake.use();
  const engine = new VoskEngine({ model: fakeVoskModelDir(), library: buildFakeVosk({ old: true }) });
  assert.throws(
    () => engine.load(),
    (e: unknown) => e instanceof VoiceError && e.code === 'VOICE_STT_LIBRARY_UNSUPPORTED' && /older than 0\.3\.37/.test(e.message) && /vosk_recognizer_set_partial_words/.test(e.message),
  );
  assert.equal(fake.calls('vosk_model_new'), 0, 'the model is never touched');
});

test('a hub told to use an old libvosk exits 78 with VOICE_STT_LIBRARY_UNSUPPORTED instead of aborting on a bad model', async () => {
  const fake = new FakeVosk('old-hub');
  // The old fake aborts the process in vosk_model_new on a bad model, as libvosk before 0.3.32 does.
  fake.setScript(['model_null 1']);
  const hub = runNode('hub/main.js', ['--broker-port', '0', '--stt-engine', 'vosk', '--stt-workers', '2', '--stt-vosk-library', buildFakeVosk({ old: true }), '--stt-vosk-model', fakeVoskModelDir()], fake.env);
  const code = await hub.waitExit();
  assert.equal(code, 78, hub.lines.join('\n'));
  assert.ok(hub.lines.some((l) => l.includes('VOICE_STT_LIBRARY_UNSUPPORTED') && l.includes('0.3.37')), hub.lines.join('\n'));
  assert.deepEqual(fake.lines().filter((l) => /^(vosk_model_new|abort)/.test(l)), [], 'no model was loaded');
});

test('the Vosk API loads twice in one thread (koffi types are declared once per thread)', () => {
  const fake = new FakeVosk('twice');
  fake.use();
  const library = buildFakeVosk();
  const model = fakeVoskModelDir();
  loadVoskApi(library);
  loadVoskApi(library);
  // Two engines in one thread, as a test file or a fallback in one process makes them.
  const a = new VoskEngine({ model, library });
  const b = new VoskEngine({ model, library });
  a.load();
  b.load();
  a.createRecognizer().free();
  b.createRecognizer().free();
  a.unload();
  b.unload();
  assert.equal(fake.calls('vosk_model_new'), 2);
  assert.equal(fake.calls('model_deleted'), 2);
});

test('the libvosk that scripts/install-libvosk.sh installs (0.3.39) passes the version check', { skip: fs.existsSync(defaultVoskLibrary()) ? false : `libvosk not installed at ${defaultVoskLibrary()}` }, () => {
  const api = loadVoskApi('');
  assert.equal(typeof api.vosk_recognizer_set_partial_words, 'function');
  assert.equal(typeof api.vosk_recognizer_result, 'function');
});
