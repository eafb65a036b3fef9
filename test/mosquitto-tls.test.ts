/**
 * TLS on Debian's real Mosquitto with what `voice-hub mosquitto export`
 * writes once `voice-hub tls init` has made the hub's CA and certificate
 * (issue 9; docs/security.md, External Mosquitto): the export adds an mqtts
 * listener with that certificate. Real satellite processes pinned to the
 * hub's CA (mqtt.ca): one given another CA, one facing a Mosquitto whose
 * certificate has expired, and a connection to a name the certificate does
 * not hold are refused before any credential is sent (Mosquitto never logs
 * them in); the hub and a satellite with the right CA work end to end over
 * mqtts: a spoken command comes back as a transcript.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import pino from 'pino';
import { connectMqtt } from '../common/mqtt';
import { runAdmin } from '../hub/cli';
import { HUB_IDENTITY, HUB_SECRET_FILE, IdentityStore } from '../hub/security/identities';
import type { MosquittoExport } from '../hub/security/mosquitto';
import { initTls, issueServer, makeCa } from '../hub/security/tls';
import { Noise, writeWav } from './cover-helpers';
import { Collector, freePort, jsonOf, type Proc, runNode, spawnTracked, TMP, waitPort, wer } from './helpers';
import { speak } from './speech-fixtures';

const stateDir = path.join(TMP, 'mosq-tls-state');
const filesDir = path.join(TMP, 'mosq-tls-files');
const SPOKEN = 'turn off the kitchen light';
const secrets: Record<string, string> = {};
const brokers: { proc: ChildProcess; log: string[]; tlsPort: number }[] = [];
const procs: Proc[] = [];
let caFile = '';

/** Starts Mosquitto with the exported lines: the plain listener and the mqtts one on free ports, optionally another certificate. */
async function mosquitto(name: string, lines: string[], cert?: { certfile: string; keyfile: string }): Promise<{ log: string[]; tlsPort: number }> {
  const plain = await freePort();
  const tlsPort = await freePort();
  const conf = path.join(TMP, `${name}.conf`);
  const head = [`user ${os.userInfo().username}`, 'persistence false', 'log_dest stderr', 'log_type all'];
  const body = lines.map((l) => {
    if (l === 'listener 1883') return `listener ${plain} 127.0.0.1`;
    if (/^listener \d+$/.test(l)) return `listener ${tlsPort}`;
    if (cert && l.startsWith('certfile ')) return `certfile ${cert.certfile}`;
    if (cert && l.startsWith('keyfile ')) return `keyfile ${cert.keyfile}`;
    return l;
  });
  fs.writeFileSync(conf, `${[...head, ...body].join('\n')}\n`);
  const proc = spawnTracked('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  proc.stderr?.on('data', (d: Buffer) => log.push(...d.toString().split('\n').filter(Boolean)));
  await waitPort(tlsPort);
  brokers.push({ proc, log, tlsPort });
  return { log, tlsPort };
}

let lines: string[] = [];

before(() => {
  const store = new IdentityStore(stateDir).open();
  for (const id of ['rightca', 'wrongca', 'stale', 'wrongname']) secrets[id] = store.add(id, 'satellite', { room: 'lab' });
  secrets.watch = store.add('watch', 'automation');
  ({ files: { caCert: caFile } } = initTls(stateDir, { names: { dns: ['localhost'], ips: ['127.0.0.1'] } }));
  const out: string[] = [];
  // broker.tls.port as the admin configured it: the export names the same port.
  assert.equal(runAdmin(['mosquitto', 'export', '--dir', filesDir, '--hub-state-dir', stateDir, '--broker-tls-port', '8884', '--json'], (s) => out.push(s)), 0);
  lines = (JSON.parse(out[0]) as MosquittoExport).conf;
  secrets[HUB_IDENTITY] = fs.readFileSync(path.join(stateDir, HUB_SECRET_FILE), 'utf8').trim();
});
after(async () => {
  for (const p of procs) await p.stop();
  for (const b of brokers) b.proc.kill('SIGTERM');
});

function satellite(url: string, id: string, ca: string, wav: string): Proc {
  const p = runNode('satellite/main.js', ['--mqtt-url', url, '--mqtt-ca', ca, '--mqtt-username', id, '--mqtt-password', secrets[id], '--satellite-id', id, '--satellite-room', 'lab', '--audio-source', 'wav', '--audio-wav', wav, '--audio-wav-trailing-silence-ms', '0', '--playback-sink', 'file', '--playback-dir', path.join(TMP, `mosq-tls-played-${id}`)]);
  procs.push(p);
  return p;
}

function fixture(name: string, seed: number): string {
  const n = new Noise(seed);
  return writeWav(name, Buffer.concat([n.floor(1000), n.mix(speak('hey jarvis')), n.floor(500), n.mix(speak(SPOKEN)), n.floor(3000)]));
}

test('the export adds an mqtts listener with the hub\'s certificate once tls init made one', () => {
  const i = lines.indexOf('listener 8884');
  assert.ok(i > lines.indexOf('listener 1883'), JSON.stringify(lines));
  assert.deepEqual(lines.slice(i + 1), [`cafile ${caFile}`, `certfile ${path.join(stateDir, 'tls', 'server.crt')}`, `keyfile ${path.join(stateDir, 'tls', 'server.key')}`, 'use_username_as_clientid true']);
});

test('refused by Mosquitto\'s mqtts listener: another CA, an expired certificate, a name the certificate does not hold; no credential reaches Mosquitto', async () => {
  const good = await mosquitto('mosq-tls-good', lines);
  // The same CA signs an expired certificate for a second Mosquitto.
  const ca = { cert: fs.readFileSync(caFile, 'utf8'), key: fs.readFileSync(path.join(stateDir, 'tls', 'ca.key'), 'utf8') };
  const expired = issueServer(ca, { dns: ['localhost'], ips: ['127.0.0.1'] }, { notBefore: new Date(Date.now() - 40 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
  const certfile = path.join(TMP, 'mosq-tls-expired.crt');
  const keyfile = path.join(TMP, 'mosq-tls-expired.key');
  fs.writeFileSync(certfile, expired.cert);
  fs.writeFileSync(keyfile, expired.key, { mode: 0o600 });
  const stale = await mosquitto('mosq-tls-expired', lines, { certfile, keyfile });
  const otherCa = path.join(TMP, 'mosq-tls-other-ca.crt');
  fs.writeFileSync(otherCa, makeCa('somebody else').cert);

  const [wrong, old] = await Promise.all([
    satellite(`mqtts://localhost:${good.tlsPort}`, 'wrongca', otherCa, fixture('mt-wrongca', 71)).waitLog((o) => o.code === 'VOICE_MQTT_TLS_UNTRUSTED', 15000),
    satellite(`mqtts://localhost:${stale.tlsPort}`, 'stale', caFile, fixture('mt-stale', 72)).waitLog((o) => o.code === 'VOICE_MQTT_TLS_UNTRUSTED', 15000),
  ]);
  // Mosquitto sends the hub's CA along with its certificate (cafile): a client that trusts another CA finds it in the chain.
  assert.equal(wrong.reason, 'SELF_SIGNED_CERT_IN_CHAIN');
  assert.equal(old.reason, 'CERT_HAS_EXPIRED');
  const spyLines: Record<string, unknown>[] = [];
  const spy = pino({ level: 'info' }, { write: (l: string) => void spyLines.push(JSON.parse(l) as Record<string, unknown>) });
  await assert.rejects(
    connectMqtt({ url: `mqtts://127.0.0.2:${good.tlsPort}`, ca: caFile, clientId: 'voice-sat-wrongname', username: 'wrongname', password: secrets.wrongname, will: { topic: 'voice/satellite/wrongname/status', payload: '{}' }, log: spy, connectTimeoutMs: 4000 }),
    (e: Error & { code?: string }) => e.code === 'VOICE_MQTT_TLS_UNTRUSTED' && /ERR_TLS_CERT_ALTNAME_INVALID/.test(e.message),
  );

  // The right CA on the same listener is let in: what refused the others was the certificate.
  const ok = satellite(`mqtts://localhost:${good.tlsPort}`, 'rightca', caFile, fixture('mt-rightca', 73));
  await ok.waitLog((o) => o.msg === 'MQTT connected', 15000);
  const logins = [...good.log, ...stale.log].filter((l) => / u'[^']*'/.test(l));
  for (const id of ['wrongca', 'stale', 'wrongname']) assert.equal(logins.some((l) => l.includes(`u'${id}'`)), false, `${id} never logged in`);
  assert.ok(logins.some((l) => l.includes("u'rightca'")), 'Mosquitto logs a login it saw');
});

test('over Mosquitto\'s mqtts listener, the hub and a satellite pinned to the hub\'s CA work end to end: the spoken command comes back as a transcript', async () => {
  const m = await mosquitto('mosq-tls-e2e', lines);
  const url = `mqtts://localhost:${m.tlsPort}`;
  const hub = runNode('hub/main.js', ['--mqtt-url', url, '--mqtt-ca', caFile, '--mqtt-username', HUB_IDENTITY, '--mqtt-password', secrets[HUB_IDENTITY], '--hub-state-dir', stateDir, '--reply-enabled', 'false']);
  procs.push(hub);
  await hub.waitLog((o) => o.msg === 'hub ready', 30000);
  const watch = await new Promise<Collector>((resolve, reject) => {
    // An automation (Mosquitto makes a client's username its id: the hub's own would take the hub's connection over).
    const c = mqtt.connect(url, { username: 'watch', password: secrets.watch, ca: fs.readFileSync(caFile), reconnectPeriod: 0 });
    c.once('connect', () => resolve(new Collector(c)));
    c.once('error', reject);
  });
  await watch.client.subscribeAsync('voice/satellite/rightca/transcript');
  const sat = satellite(url, 'rightca', caFile, fixture('mt-e2e', 74));
  const fin = jsonOf(
    await watch.next((tp) => tp === 'voice/satellite/rightca/transcript', 40000).catch((err: Error) => {
      throw new Error(`${err.message}\nhub: ${hub.lines.slice(-8).join('\n')}\nsatellite: ${sat.lines.slice(-8).join('\n')}\nmosquitto: ${m.log.slice(-8).join('\n')}`);
    }),
  );
  await watch.end();
  assert.ok(wer(SPOKEN, String(fin.text)).rate <= 0.4, String(fin.text));
  assert.equal(fin.room, 'lab');
});
