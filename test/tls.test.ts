/**
 * TLS on the embedded broker (issue 9; docs/security.md "TLS"): the local
 * CA and server certificate `voice-hub tls init` makes; a real satellite
 * process over mqtts, verifying the hub against that CA, through a whole
 * session; the plain listener bound to loopback, or off with the hub
 * connecting to itself over TLS; and the refusals: a satellite given
 * another CA, a hub whose certificate has expired, a host name the
 * certificate does not hold, a bad key at start.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import pino from 'pino';
import { connectMqtt } from '../common/mqtt';
import type { Hub } from '../hub/controller';
import { initTls, issueServer, makeCa, tlsFiles } from '../hub/security/tls';
import { adminAuth, satelliteAuth } from './credentials';
import { Noise, writeWav } from './cover-helpers';
import { Collector, jsonOf, runNode, speak, speakSession, TMP, wer } from './helpers';
import { startHub } from './hub-helpers';

const lanAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
const SPOKEN = 'turn off the kitchen light';
let seq = 0;

function stateDir(): string {
  return path.join(TMP, `tls-state-${process.pid}-${++seq}`);
}

/** "hey jarvis" + the command over a noise floor, then the noise alone. */
function fixture(name: string, seed: number): string {
  const n = new Noise(seed);
  return writeWav(name, Buffer.concat([n.floor(1000), n.mix(speak('hey jarvis')), n.floor(500), n.mix(speak(SPOKEN)), n.floor(3000)]));
}

function satellite(url: string, id: string, ca: string, wav: string) {
  return runNode('satellite/main.js', ['--mqtt-url', url, '--mqtt-ca', ca, '--satellite-id', id, '--satellite-room', 'lab', '--audio-source', 'wav', '--audio-wav', wav, '--audio-wav-trailing-silence-ms', '0', '--playback-sink', 'file', '--playback-dir', path.join(TMP, `tls-played-${id}`)]);
}

/** An admin client (the hub's identity) over mqtts, trusting `ca`. */
function tlsAdmin(url: string, ca: string): Promise<Collector> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { ...adminAuth(url), ca: fs.readFileSync(ca), reconnectPeriod: 0, connectTimeout: 5000 });
    c.once('connect', () => resolve(new Collector(c)));
    c.once('error', (err) => {
      c.end(true);
      reject(err);
    });
  });
}

test('voice-hub tls init: a CA and a server certificate for this machine, keys 0600; issued again under the same CA; --new-ca replaces it; satellite add then prints mqtts and the CA', async () => {
  const dir = stateDir();
  const run = (...args: string[]) => runNode('hub/main.js', ['tls', 'init', '--hub-state-dir', dir, ...args]);
  const first = run('--name', 'hub.example.lan', '--address', '10.9.8.7', '--json');
  assert.equal(await first.waitExit(), 0, first.lines.join('\n'));
  const made = JSON.parse(first.lines.find((l) => l.startsWith('{')) ?? '{}') as { newCa: boolean; caCert: string; cert: string };
  assert.equal(made.newCa, true);
  const f = tlsFiles(dir);
  for (const key of [f.caKey, f.key]) assert.equal(fs.statSync(key).mode & 0o777, 0o600, `${key} is private`);
  const ca = new X509Certificate(fs.readFileSync(f.caCert));
  const server = new X509Certificate(fs.readFileSync(f.cert));
  assert.ok(ca.ca, 'the CA is a CA');
  assert.ok(!server.ca, 'the server certificate is not');
  assert.ok(server.verify(ca.publicKey), 'the CA signed the server certificate');
  assert.ok(server.checkIssued(ca));
  for (const name of [os.hostname(), 'localhost', 'hub.example.lan']) assert.equal(server.checkHost(name), name, `it names ${name}`);
  for (const ip of ['127.0.0.1', '10.9.8.7', ...(lanAddress ? [lanAddress] : [])]) assert.equal(server.checkIP(ip), ip, `it names ${ip}`);
  assert.equal(server.checkHost('elsewhere.lan'), undefined);
  const days = (Date.parse(server.validTo) - Date.now()) / 86_400_000;
  assert.ok(days > 800 && days < 826, `valid ${days.toFixed(0)} days`);

  // Again: a new server certificate, the same CA (satellites keep theirs).
  const caPem = fs.readFileSync(f.caCert, 'utf8');
  const serverPem = fs.readFileSync(f.cert, 'utf8');
  const again = run('--days', '30');
  assert.equal(await again.waitExit(), 0, again.lines.join('\n'));
  assert.match(again.lines.join('\n'), /The CA is kept/);
  assert.equal(fs.readFileSync(f.caCert, 'utf8'), caPem);
  assert.notEqual(fs.readFileSync(f.cert, 'utf8'), serverPem);
  assert.ok(new X509Certificate(fs.readFileSync(f.cert)).verify(ca.publicKey));
  const rotated = run('--new-ca');
  assert.equal(await rotated.waitExit(), 0);
  assert.notEqual(fs.readFileSync(f.caCert, 'utf8'), caPem, '--new-ca makes a new CA');
  // A bad address is a usage error, and nothing is written.
  const before = fs.readFileSync(f.cert, 'utf8');
  const bad = run('--address', 'not-an-ip');
  assert.equal(await bad.waitExit(), 64);
  assert.equal(fs.readFileSync(f.cert, 'utf8'), before);

  // Adding a satellite now points it at mqtts and the CA; without a certificate, at plain MQTT.
  const add = runNode('hub/main.js', ['satellite', 'add', 'tlskitchen', '--room', 'kitchen', '--hub-state-dir', dir]);
  assert.equal(await add.waitExit(), 0, add.lines.join('\n'));
  const printed = add.lines.join('\n');
  assert.match(printed, new RegExp(`^VOICE_SAT_MQTT_URL=mqtts://${os.hostname()}:8883$`, 'm'));
  assert.match(printed, /^VOICE_SAT_MQTT_CA=\/etc\/voice-satellite\/ca\.crt$/m);
  assert.ok(printed.includes(`copy ${f.caCert} to the satellite`), printed);
  const plainDir = stateDir();
  const addPlain = runNode('hub/main.js', ['satellite', 'add', 'plainkitchen', '--hub-state-dir', plainDir, '--json']);
  assert.equal(await addPlain.waitExit(), 0);
  const plain = JSON.parse(addPlain.lines.find((l) => l.startsWith('{')) ?? '{}') as { url: string; ca?: string };
  assert.equal(plain.url, `mqtt://${os.hostname()}:1883`);
  assert.equal(plain.ca, undefined);
});

test('over TLS: a real satellite verifying the hub against its CA gets a transcript and hears the spoken reply; plain MQTT listens on loopback only', async (t) => {
  const dir = stateDir();
  const { files } = initTls(dir);
  // Replies on, with no LLM to reach (a closed port): the hub speaks its apology, so TTS audio flows back over mqtts too.
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const llmPort = (closed.address() as net.AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const hub: Hub = await startHub(['--hub-state-dir', dir, '--broker-host', '0.0.0.0', '--broker-plain', 'loopback', '--broker-tls-port', '0', '--llm-host', `http://127.0.0.1:${llmPort}`, '--stt-workers', '1']);
  t.after(() => hub.stop());
  const broker = hub.broker;
  assert.ok(broker && broker.tlsPort > 0 && broker.port > 0);
  assert.match(hub.brokerUrl, /^mqtt:\/\/127\.0\.0\.1:/, 'the hub itself uses plain MQTT on loopback');
  const host = lanAddress ?? '127.0.0.1';
  const url = `mqtts://${host}:${broker.tlsPort}`;
  const col = await tlsAdmin(url, files.caCert);
  t.after(() => col.end());
  await col.client.subscribeAsync(['voice/satellite/+/transcript', 'voice/satellite/+/status', 'voice/satellite/+/reply', 'voice/satellite/+/played'], { qos: 1 });
  const sat = satellite(url, 'tlssat', files.caCert, fixture('tlssat', 61));
  t.after(() => sat.stop());
  const fin = jsonOf(await col.next((tp) => tp === 'voice/satellite/tlssat/transcript', 40000));
  assert.ok(wer(SPOKEN, String(fin.text)).rate <= 0.4, String(fin.text));
  const reply = jsonOf(await col.next((tp) => tp === 'voice/satellite/tlssat/reply', 20000));
  assert.equal(reply.error, 'VOICE_LLM_UNREACHABLE');
  const played = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/tlssat/played' && jsonOf({ payload: p }).sessionId === fin.sessionId, 20000));
  assert.equal(played.reason, 'done');
  assert.ok(Number(played.playedMs) > 1000, `the apology was heard over mqtts (${String(played.playedMs)} ms)`);
  const connected = await sat.waitLog((o) => o.msg === 'MQTT connected');
  assert.equal(connected.url, url);

  // The identity rules hold on the TLS listener too: this satellite may not read another's audio.
  const other = mqtt.connect(url, { ...satelliteAuth(url, 'tlsother'), clientId: 'voice-sat-tlsother', ca: fs.readFileSync(files.caCert), reconnectPeriod: 0 });
  t.after(() => other.end(true));
  await new Promise((r) => other.once('connect', r));
  // mqtt.js reports a SUBACK of 128 as an error; the SUBACK packet comes with it.
  const granted = await new Promise<number>((resolve) => other.subscribe('voice/satellite/tlssat/audio/#', { qos: 0 }, (_e, _s, packet) => resolve((packet as { granted?: number[] } | undefined)?.granted?.[0] ?? -1)));
  assert.equal(granted, 128);

  // Plain MQTT: on loopback, yes; from the LAN address, the port is closed.
  const plainLoop = mqtt.connect(`mqtt://127.0.0.1:${broker.port}`, { ...adminAuth(url), reconnectPeriod: 0 });
  await new Promise((resolve, reject) => (plainLoop.once('connect', resolve), plainLoop.once('error', reject)));
  plainLoop.end(true);
  if (lanAddress) {
    const plainLan = mqtt.connect(`mqtt://${lanAddress}:${broker.port}`, { ...adminAuth(url), reconnectPeriod: 0, connectTimeout: 3000 });
    const err = await new Promise<Error & { code?: string | number }>((resolve, reject) => (plainLan.once('error', resolve), plainLan.once('connect', () => reject(new Error('plain MQTT from the LAN address was accepted')))));
    plainLan.end(true);
    assert.equal(err.code, 'ECONNREFUSED');
  }
});

test('plain off: the hub connects to its own broker over TLS, and a session goes through; without a certificate it does not start', async (t) => {
  const dir = stateDir();
  const { files } = initTls(dir);
  const hub: Hub = await startHub(['--hub-state-dir', dir, '--broker-plain', 'off', '--broker-tls-port', '0', '--reply-enabled', 'false', '--stt-workers', '1']);
  t.after(() => hub.stop());
  assert.equal(hub.broker?.port, 0, 'no plain listener');
  assert.match(hub.brokerUrl, /^mqtts:\/\/127\.0\.0\.1:\d+$/, 'over TLS, to the address its listener has');
  const col = await tlsAdmin(hub.brokerUrl, files.caCert);
  t.after(() => col.end());
  await col.client.subscribeAsync('voice/satellite/+/transcript', { qos: 1 });
  const sid = await speakSession(col.client, 'raw', SPOKEN);
  const fin = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/raw/transcript' && jsonOf({ payload: p }).sessionId === sid, 20000));
  assert.ok(wer(SPOKEN, String(fin.text)).rate <= 0.4, String(fin.text));

  // No certificate with plain off: nothing to listen on, VOICE_TLS_INVALID; a key that is not the certificate's: the same code, its own reason.
  await assert.rejects(startHub(['--hub-state-dir', stateDir(), '--broker-plain', 'off', '--broker-tls-port', '0']), (e: Error & { code?: string }) => e.code === 'VOICE_TLS_INVALID' && /no listener/.test(e.message));
  const other = makeCa();
  const keyFile = path.join(TMP, `tls-wrong-key-${process.pid}.pem`);
  fs.writeFileSync(keyFile, other.key);
  await assert.rejects(startHub(['--hub-state-dir', stateDir(), '--broker-tls-port', '0', '--broker-tls-enabled', 'on', '--broker-tls-cert', files.cert, '--broker-tls-key', keyFile]), (e: Error & { code?: string }) => e.code === 'VOICE_TLS_INVALID' && /is not the key of/.test(e.message));
});

test('refused: a satellite given another CA, a hub certificate that has expired, a host name the certificate does not hold; credentials never reach the broker', async (t) => {
  const dir = stateDir();
  const { files } = initTls(dir);
  // The same CA signs a second, expired, certificate for a second hub.
  const ca = { cert: fs.readFileSync(files.caCert, 'utf8'), key: fs.readFileSync(files.caKey, 'utf8') };
  const expired = issueServer(ca, { dns: ['localhost'], ips: ['127.0.0.1'] }, { notBefore: new Date(Date.now() - 40 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
  const expDir = stateDir();
  fs.mkdirSync(expDir, { recursive: true });
  const expCert = path.join(expDir, 'expired.crt');
  const expKey = path.join(expDir, 'expired.key');
  fs.writeFileSync(expCert, expired.cert);
  fs.writeFileSync(expKey, expired.key);
  const wrongCa = path.join(TMP, `tls-other-ca-${process.pid}.crt`);
  fs.writeFileSync(wrongCa, makeCa('somebody else').cert);

  const hubLogs: Record<string, unknown>[] = [];
  // On every interface, so 127.0.0.2 reaches it.
  const hub: Hub = await startHub(['--hub-state-dir', dir, '--broker-host', '0.0.0.0', '--broker-tls-port', '0', '--reply-enabled', 'false'], { logs: hubLogs });
  t.after(() => hub.stop());
  const expLogs: Record<string, unknown>[] = [];
  const expHub: Hub = await startHub(['--hub-state-dir', expDir, '--broker-tls-port', '0', '--broker-tls-cert', expCert, '--broker-tls-key', expKey, '--reply-enabled', 'false'], { logs: expLogs });
  t.after(() => expHub.stop());
  const startLine = expLogs.find((o) => o.code === 'VOICE_TLS_INVALID');
  assert.ok(startLine && /expired/.test(String(startLine.msg)), 'the hub says at start that its certificate has expired');

  // Watchers on each hub, over plain loopback: a refused satellite never announces itself.
  const watch = await Collector.create(hub.brokerUrl, 'voice/satellite/+/status');
  const watchExp = await Collector.create(expHub.brokerUrl, 'voice/satellite/+/status');
  t.after(() => Promise.all([watch.end(), watchExp.end()]));
  const untrusted = async (url: string, id: string, caFile: string) => {
    const sat = satellite(url, id, caFile, fixture(id, 62));
    t.after(() => sat.stop());
    return sat.waitLog((o) => o.code === 'VOICE_MQTT_TLS_UNTRUSTED', 15000);
  };
  const [wrong, old] = await Promise.all([
    untrusted(`mqtts://localhost:${hub.broker?.tlsPort ?? 0}`, 'wrongca', wrongCa),
    untrusted(`mqtts://localhost:${expHub.broker?.tlsPort ?? 0}`, 'stale', files.caCert),
  ]);
  assert.equal(wrong.reason, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  assert.equal(old.reason, 'CERT_HAS_EXPIRED');

  // A name the certificate does not hold (127.0.0.2 reaches this machine too): refused, through the client code satellites use.
  const lines: Record<string, unknown>[] = [];
  const spy = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  await assert.rejects(
    connectMqtt({ url: `mqtts://127.0.0.2:${hub.broker?.tlsPort ?? 0}`, ca: files.caCert, clientId: 'voice-sat-wrongname', ...(satelliteAuth(hub.brokerUrl, 'wrongname') ?? { username: '', password: '' }), will: { topic: 'voice/satellite/wrongname/status', payload: '{}' }, log: spy, connectTimeoutMs: 4000 }),
    (e: Error & { code?: string }) => e.code === 'VOICE_MQTT_TLS_UNTRUSTED' && /ERR_TLS_CERT_ALTNAME_INVALID/.test(e.message),
  );
  assert.equal(lines.filter((o) => o.code === 'VOICE_MQTT_TLS_UNTRUSTED').length, 1, 'said once, not at every retry');
  // An mqtt.ca that is missing, or holds no certificate (a key copied by mistake), is a setup error before any connection.
  for (const ca of [path.join(TMP, 'no-such-ca.crt'), files.caKey]) {
    await assert.rejects(
      connectMqtt({ url: `mqtts://localhost:${hub.broker?.tlsPort ?? 0}`, ca, clientId: 'voice-sat-badca', username: 'x', password: 'y', will: { topic: 'voice/satellite/badca/status', payload: '{}' }, log: spy, connectTimeoutMs: 4000 }),
      (e: Error & { code?: string }) => e.code === 'VOICE_TLS_INVALID' && e.message.includes(ca),
    );
  }

  // A satellite with the right CA, on the hub whose certificate is valid, is let in: what refused the others was the certificate.
  const ok = satellite(`mqtts://localhost:${hub.broker?.tlsPort ?? 0}`, 'rightca', files.caCert, fixture('rightca', 63));
  t.after(() => ok.stop());
  await watch.next((tp, p) => tp === 'voice/satellite/rightca/status' && jsonOf({ payload: p }).state !== 'offline', 20000);
  const announced = [...watch.messages, ...watchExp.messages].map((m) => m.topic);
  for (const id of ['wrongca', 'stale', 'wrongname']) assert.ok(!announced.includes(`voice/satellite/${id}/status`), `${id} never reached the broker`);
  assert.equal(hubLogs.filter((o) => o.msg === 'embedded broker refused a connection').length, 0, 'no credentials were checked: the TLS handshake failed first');
});
