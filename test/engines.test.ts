/**
 * Engine choice is resolved once, in the main thread, with one policy:
 * under `auto` an installed engine that fails to start is skipped with a
 * warning and the next one runs (Piper -> flite, Vosk -> pocketsphinx); the
 * hub's retained status reports the engine really in use and why.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../common/config';
import { type HubConfig, hubSchema } from '../config/hub';
import { Hub } from '../hub/controller';
import { defaultVoskLibrary } from '../hub/stt/vosk';
import { owwModelDir } from '../satellite/wake/openwakeword';
import { brokenVoskModelDir, Collector, jsonOf, ROOT, TMP } from './helpers';
import { startHub } from './hub-helpers';

const brokenVoskModel = () => brokenVoskModelDir('engines-broken-vosk');

/** A real ONNX model that is not a Piper voice, with a Piper config beside it. */
function brokenPiperVoice(): string {
  const fake = path.join(TMP, 'engines-not-piper.onnx');
  fs.copyFileSync(path.join(owwModelDir(), 'hey_jarvis_v0.1.onnx'), fake);
  fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'tiny-piper.onnx.json'), `${fake}.json`);
  return fake;
}

async function hubStatus(args: string[]): Promise<Record<string, Record<string, unknown>>> {
  const hub = await startHub(args);
  try {
    const col = await Collector.create(hub.brokerUrl, 'voice/hub/status');
    try {
      return jsonOf(await col.next((t) => t === 'voice/hub/status', 5000)) as Record<string, Record<string, unknown>>;
    } finally {
      await col.end();
    }
  } finally {
    await hub.stop();
  }
}

test('auto: a Piper voice that fails to load falls back to flite, and the status says so', async () => {
  const s = await hubStatus(['--tts-engine', 'auto', '--tts-piper-voice', brokenPiperVoice()]);
  assert.equal(s.tts.engine, 'flite');
  const fb = s.tts.fallback as Record<string, string>;
  assert.equal(fb.from, 'piper');
  assert.equal(fb.code, 'VOICE_TTS_VOICE_INVALID');
});

test('auto: with no Piper voice installed flite runs with no fallback recorded', async () => {
  const s = await hubStatus(['--tts-engine', 'auto', '--tts-piper-voice', path.join(TMP, 'no-such-voice.onnx')]);
  assert.equal(s.tts.engine, 'flite');
  assert.equal(s.tts.fallback, undefined);
});

test('auto: a broken Vosk model falls back to pocketsphinx, and the status says so', { skip: fs.existsSync(defaultVoskLibrary()) ? false : 'libvosk not installed (scripts/install-libvosk.sh)' }, async () => {
  const s = await hubStatus(['--stt-engine', 'auto', '--stt-vosk-model', brokenVoskModel()]);
  assert.equal(s.stt.engine, 'pocketsphinx');
  const fb = s.stt.fallback as Record<string, string>;
  assert.equal(fb.from, 'vosk');
  assert.equal(fb.code, 'VOICE_STT_MODEL_INVALID');
});

test('auto: with no Vosk model installed pocketsphinx runs with no fallback recorded', async () => {
  const s = await hubStatus(['--stt-engine', 'auto', '--stt-vosk-model', path.join(TMP, 'no-such-model')]);
  assert.equal(s.stt.engine, 'pocketsphinx');
  assert.equal(s.stt.fallback, undefined);
});

test('an engine named explicitly must start: a broken Vosk model stops start-up with its code', { skip: fs.existsSync(defaultVoskLibrary()) ? false : 'libvosk not installed' }, async () => {
  const { config } = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: ['--broker-port', '0', '--broker-host', '127.0.0.1', '--hub-state-dir', path.join(TMP, 'engines-state'), '--stt-workers', '1', '--stt-engine', 'vosk', '--stt-vosk-model', brokenVoskModel(), '--http-port', '0'], env: {} });
  const hub = new Hub({ config, log: pino({ level: 'silent' }) });
  try {
    await assert.rejects(hub.start(), (e: unknown) => (e as { code?: string }).code === 'VOICE_STT_MODEL_INVALID');
  } finally {
    await hub.stop();
  }
});
