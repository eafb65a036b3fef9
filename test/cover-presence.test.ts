/**
 * Presence, topic root and broker credentials, with real hub and satellite
 * processes: a graceful stop (SIGTERM) leaves a retained `offline` status
 * for clients that subscribe afterwards (hub and satellite, on Mosquitto,
 * which outlives both); a custom mqtt.topicRoot carries a whole session and
 * nothing appears under `voice/`; the embedded broker refuses clients
 * without an identity's credentials and serves the satellite added with
 * `voice-hub satellite add`, in the room of its identity.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { Collector, freePort, jsonOf, type Proc, runNode, speak, startHubProcess, TMP, waitPort, wer } from './helpers';
import { Noise, writeWav } from './cover-helpers';

const SPOKEN = 'turn off the kitchen light';

/** "hey jarvis" + the command over a noise floor, with a noise tail so the file itself ends the utterance. */
function fixture(name: string, seed: number): string {
  const n = new Noise(seed);
  return writeWav(name, Buffer.concat([n.floor(1000), n.mix(speak('hey jarvis')), n.floor(500), n.mix(speak(SPOKEN)), n.floor(3000)]));
}

function satellite(url: string, id: string, wav: string, args: string[] = []): Proc {
  return runNode('satellite/main.js', ['--mqtt-url', url, '--satellite-id', id, '--satellite-room', 'lab', '--audio-source', 'wav', '--audio-wav', wav, '--audio-wav-trailing-silence-ms', '0', ...args]);
}

/** Subscribes with a fresh client and returns the retained message on `topic` (or fails). */
async function retained(url: string, topic: string): Promise<Record<string, unknown>> {
  const c = await Collector.create(url, topic);
  try {
    const m = await c.next((t) => t === topic, 3000);
    return jsonOf(m);
  } finally {
    await c.end();
  }
}

test('SIGTERM: the satellite and the hub leave a retained offline status for later subscribers', async (t) => {
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  const broker: ChildProcess = spawn('mosquitto', ['-p', String(port)], { stdio: 'ignore' });
  t.after(() => {
    broker.kill('SIGTERM');
  });
  await waitPort(port);
  const hub = runNode('hub/main.js', ['--mqtt-url', url, '--stt-workers', '1', '--reply-enabled', 'false']);
  t.after(() => hub.stop());
  await hub.waitLog((o) => o.msg === 'hub ready');
  // Only the noise floor: no session is opening when the hub stops (see cover-shutdown.test.ts).
  const sat = satellite(url, 'leaver', writeWav('leaver', new Noise(51).floor(20000)));
  t.after(() => sat.stop());
  await sat.waitLog((o) => o.msg === 'satellite listening');
  assert.equal((await retained(url, 'voice/satellite/leaver/status')).state, 'online');
  assert.equal((await retained(url, 'voice/hub/status')).state, 'online');

  assert.equal(await sat.stop(), 0, 'graceful exit');
  const s = await retained(url, 'voice/satellite/leaver/status');
  assert.equal(s.state, 'offline');
  assert.equal(s.room, 'lab');
  assert.equal(s.protocol, 1);

  assert.equal(await hub.stop(), 0, 'graceful exit');
  const h = await retained(url, 'voice/hub/status');
  assert.equal(h.state, 'offline');
  assert.equal(h.protocol, 1);
});

test('mqtt.topicRoot=casa on hub and satellite: the session runs under casa/, nothing under voice/ (Home Assistant discovery under its prefix, named casa_)', async (t) => {
  const hub = await startHubProcess(['--mqtt-topic-root', 'casa', '--stt-workers', '1', '--reply-enabled', 'false', '--homeassistant-enabled', 'true']);
  t.after(() => hub.proc.stop());
  const col = await Collector.create(hub.url, '#');
  t.after(() => col.end());
  const sat = satellite(hub.url, 'rooted', fixture('rooted', 52), ['--mqtt-topic-root', 'casa']);
  t.after(() => sat.stop());
  const fin = jsonOf(await col.next((tp) => tp === 'casa/satellite/rooted/transcript', 40000));
  assert.equal(fin.satellite, 'rooted');
  assert.ok(wer(SPOKEN, String(fin.text)).rate <= 0.4, String(fin.text));
  const sid = String(fin.sessionId);
  const seen = new Set(col.messages.map((m) => m.topic.replace(sid, '<sid>')));
  for (const topic of ['casa/hub/status', 'casa/satellite/rooted/status', 'casa/satellite/rooted/wake', 'casa/satellite/rooted/audio/<sid>/start', 'casa/satellite/rooted/audio/<sid>', 'casa/satellite/rooted/audio/<sid>/stop']) {
    assert.ok(seen.has(topic), `expected ${topic}; saw ${[...seen].join(', ')}`);
  }
  // Home Assistant's discovery is under its own prefix (homeassistant.prefix), named after the root.
  assert.ok(seen.has('homeassistant/device/casa_hub/config') && seen.has('homeassistant/device/casa_satellite_rooted/config'), [...seen].join(', '));
  const stray = [...seen].filter((tp) => !tp.startsWith('casa/') && !tp.startsWith('homeassistant/device/casa_'));
  assert.deepEqual(stray, [], 'every topic under the custom root');
  assert.deepEqual(col.messages.filter((m) => m.topic.endsWith('/error')).map((m) => m.payload.toString()), []);
});

test('identities: a satellite added with the voice-hub CLI connects with its secret and its room comes from its identity; anonymous clients, wrong secrets and unknown names are refused', async (t) => {
  const stateDir = path.join(TMP, 'presence-state');
  const hub = await startHubProcess(['--hub-state-dir', stateDir, '--stt-workers', '1', '--reply-enabled', 'false']);
  t.after(() => hub.proc.stop());
  // As an admin would: one command, which prints the satellite's settings (here as JSON).
  const add = runNode('hub/main.js', ['satellite', 'add', 'authed', '--room', 'study', '--hub-state-dir', stateDir, '--json']);
  assert.equal(await add.waitExit(), 0, add.lines.join('\n'));
  const made = JSON.parse(add.lines.find((l) => l.startsWith('{')) ?? '{}') as { secret: string; room: string };
  assert.equal(made.room, 'study');
  assert.doesNotMatch(fs.readFileSync(path.join(stateDir, 'identities.json'), 'utf8'), new RegExp(made.secret), 'the store keeps only a hash');
  assert.equal(fs.statSync(path.join(stateDir, 'identities.json')).mode & 0o777, 0o600);

  const refused = async (opts: mqtt.IClientOptions) => {
    const c = mqtt.connect(hub.url, { ...opts, reconnectPeriod: 0, connectTimeout: 5000 });
    try {
      return await new Promise<Error & { code?: number }>((resolve, reject) => {
        c.once('connect', () => reject(new Error(`connected with ${JSON.stringify(opts)}`)));
        c.once('error', resolve);
      });
    } finally {
      c.end(true);
    }
  };
  const anon = await refused({});
  assert.match(anon.message, /Not authorized/i);
  assert.equal((await refused({ username: 'authed', password: 'guess', clientId: 'voice-sat-authed' })).code, anon.code);
  assert.equal((await refused({ username: 'intruder', password: made.secret })).code, anon.code);

  const col = await Collector.create(hub.url, ['voice/satellite/+/transcript', 'voice/satellite/+/status']);
  t.after(() => col.end());
  // The satellite says it stands in the lab; its identity says study, and the identity wins.
  const sat = satellite(hub.url, 'authed', fixture('authed', 53), ['--mqtt-username', 'authed', '--mqtt-password', made.secret]);
  t.after(() => sat.stop());
  const fin = jsonOf(await col.next((tp) => tp === 'voice/satellite/authed/transcript', 40000));
  assert.ok(wer(SPOKEN, String(fin.text)).rate <= 0.4, String(fin.text));
  assert.equal(fin.room, 'study');
  // A satellite without credentials cannot even start.
  const anonSat = satellite(hub.url, 'anon', fixture('anon', 54), ['--mqtt-username', '']);
  t.after(() => anonSat.stop());
  const line = await anonSat.waitLog((o) => o.code === 'VOICE_MQTT_UNREACHABLE', 15000);
  assert.match(String(line.err ?? line.msg), /Not authorized|unreachable/i);
  assert.equal(col.messages.some((m) => m.topic === 'voice/satellite/anon/status'), false, 'the refused satellite never announced itself');
});
