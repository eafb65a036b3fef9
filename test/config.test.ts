/** Config: strict validation listing every problem with exit 78; file, env and flag layering; examples are valid. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../common/config';
import { VoiceError } from '../common/errors';
import { type HubConfig, hubSchema } from '../config/hub';
import { type SatelliteConfig, satelliteSchema } from '../config/satellite';
import { ROOT, runNode, TMP } from './helpers';

test('an invalid hub config exits 78 and lists every problem', async () => {
  const file = path.join(TMP, 'bad-hub.json');
  fs.writeFileSync(file, JSON.stringify({ stt: { engine: 'whisper' }, session: { timeoutMs: -1 }, mqtt: { topicRoot: 'voice/#' }, bogusKey: 1 }));
  const p = runNode('hub/main.js', ['--config', file], { VOICE_HUB_BROKER_PORT: '99999' });
  const code = await p.waitExit();
  assert.equal(code, 78);
  const out = p.lines.join('\n');
  assert.match(out, /VOICE_CONFIG_INVALID/);
  assert.match(out, /5 problems/);
  for (const key of ['stt.engine', 'session.timeoutMs', 'mqtt.topicRoot', 'bogusKey', 'broker.port']) assert.match(out, new RegExp(key.replace('.', '\\.')), `${key} reported`);
});

test('an invalid satellite config exits 78 and lists every problem', async () => {
  const p = runNode('satellite/main.js', ['--satellite-id', 'bad/id', '--wake-threshold', '2', '--audio-source', 'tape']);
  assert.equal(await p.waitExit(), 78);
  const out = p.lines.join('\n');
  for (const key of ['satellite.id', 'wake.threshold', 'audio.source']) assert.match(out, new RegExp(key.replace('.', '\\.')));
});

test('a config file that is not JSON is a listed problem', () => {
  const file = path.join(TMP, 'not-json.json');
  fs.writeFileSync(file, '{ nope');
  assert.throws(
    () => loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: ['--config', file], env: {} }),
    (e: unknown) => e instanceof VoiceError && e.code === 'VOICE_CONFIG_INVALID' && /not-json\.json/.test(e.message),
  );
});

test('defaults < file < env < flags, and the result is frozen', () => {
  const file = path.join(TMP, 'layer.json');
  fs.writeFileSync(file, JSON.stringify({ session: { timeoutMs: 1111, maxLengthMs: 2222 }, log: { level: 'debug' } }));
  const { config } = loadConfig<HubConfig>(hubSchema, {
    prefix: 'VOICE_HUB',
    argv: ['--config', file, '--session-max-length-ms', '3333'],
    env: { VOICE_HUB_SESSION_TIMEOUT_MS: '4444', VOICE_HUB_SESSION_MAX_LENGTH_MS: '5555' },
  });
  assert.equal(config.session.timeoutMs, 4444);
  assert.equal(config.session.maxLengthMs, 3333);
  assert.equal(config.log.level, 'debug');
  assert.equal(config.session.partialIntervalMs, 200);
  assert.ok(Object.isFrozen(config.session));
});

test('a flag given twice keeps its last value, in either form', () => {
  const { config } = loadConfig<HubConfig>(hubSchema, {
    prefix: 'VOICE_HUB',
    argv: ['--stt-workers', '1', '--stt-warm-sessions', '4', '--reply-enabled', 'false', '--stt-warm-sessions=1', '--stt-workers', '3', '--stt-pocketsphinx-args=-topn 2', '--stt-pocketsphinx-args=-topn 3'],
    env: {},
  });
  assert.equal(config.stt.workers, 3);
  assert.equal(config.stt.warmSessions, 1);
  assert.equal(config.reply.enabled, false);
  assert.equal(config.stt.pocketsphinx.args, '-topn 3');
});

test('a flag value that starts with "-" stays that value (a secret, decoder arguments), not a flag', () => {
  const { config } = loadConfig<SatelliteConfig>(satelliteSchema, { prefix: 'VOICE_SAT', argv: ['--mqtt-password', '-x9_secret', '--satellite-id', 'den'], env: {} });
  assert.equal(config.mqtt.password, '-x9_secret');
  assert.equal(config.satellite.id, 'den');
  const hub = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: ['--stt-pocketsphinx-args', '-maxhmmpf 3000', '--stt-workers', '2'], env: {} }).config;
  assert.equal(hub.stt.pocketsphinx.args, '-maxhmmpf 3000');
  assert.equal(hub.stt.workers, 2);
});

test('the example config files are valid', () => {
  loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: ['--config', path.join(ROOT, 'config', 'hub.example.json')], env: {} });
  const { config } = loadConfig<SatelliteConfig>(satelliteSchema, { prefix: 'VOICE_SAT', argv: ['--config', path.join(ROOT, 'config', 'satellite.example.json')], env: {} });
  assert.equal(config.satellite.id, 'kitchen');
});
