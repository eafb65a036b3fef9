/**
 * The attack matrix against Debian's real Mosquitto (2.0.11) run with the
 * password_file and acl_file that `voice-hub mosquitto export` makes from the
 * hub's identities (issue 9 part 5; docs/security.md, External Mosquitto).
 * Mosquitto answers differently from the embedded broker (it grants every
 * SUBSCRIBE and filters deliveries; it replaces client ids by usernames
 * instead of refusing them): each case asserts what Mosquitto really does,
 * and that the victim's data never arrives. "Never arrives" is checked
 * against a sentinel the subscriber may receive, sent after the attack on
 * the same path, so the check waits for the broker instead of for a clock.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { isVoiceError } from '../common/errors';
import { runAdmin } from '../hub/cli';
import { HUB_IDENTITY, HUB_SECRET_FILE, IdentityStore, verifyMosquittoHash } from '../hub/security/identities';
import { exportMosquitto, type MosquittoExport } from '../hub/security/mosquitto';
import { sleep } from './cover-helpers';
import { freePort, type Proc, runNode, spawnTracked, TMP, wakeCommandWav, waitPort, wer, withTimeout } from './helpers';

const stateDir = path.join(TMP, 'mosq-sec-state');
const filesDir = path.join(TMP, 'mosq-sec-files');
const secrets: Record<string, string> = {};
const brokerLog: string[] = [];
let broker: ChildProcess;
let port = 0;
let store: IdentityStore;
const procs: Proc[] = [];
const lanAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

/** `voice-hub mosquitto export`, as an admin runs it (automations may also use homeassistant/#); what it printed. */
function exportFiles(json = false): string[] {
  const out: string[] = [];
  assert.equal(runAdmin(['mosquitto', 'export', '--dir', filesDir, '--allow', 'homeassistant/#', '--hub-state-dir', stateDir, ...(json ? ['--json'] : [])], (s) => out.push(s)), 0);
  return out;
}

/** Sends Mosquitto SIGHUP and waits for it to say it reloaded. */
async function reload(): Promise<void> {
  const from = brokerLog.length;
  broker.kill('SIGHUP');
  for (let i = 0; i < 100 && !brokerLog.slice(from).some((l) => l.includes('Reloading config')); i++) await sleep(50);
  // The reload is done on the broker's next loop after it logged; a connect after this sees the new files.
  await sleep(200);
}

before(async () => {
  store = new IdentityStore(stateDir).open();
  secrets.kitchen = store.add('kitchen', 'satellite', { room: 'kitchen' });
  secrets.bedroom = store.add('bedroom', 'satellite', { room: 'bedroom' });
  secrets.ha = store.add('ha', 'automation');
  secrets.nodered = store.add('nodered', 'automation');
  secrets.recorder = store.add('recorder', 'automation', { readAudio: true });
  const { conf: lines } = JSON.parse(exportFiles(true)[0]) as MosquittoExport;
  secrets[HUB_IDENTITY] = fs.readFileSync(path.join(stateDir, HUB_SECRET_FILE), 'utf8').trim();
  port = await freePort();
  const conf = path.join(TMP, 'mosq-sec.conf');
  // The lines the export prints, with this port for 1883 (on every interface, so the LAN address too), and what a test
  // needs: the user it runs as (as root, Mosquitto would drop to user mosquitto, which cannot read the 0600 files on
  // reload), no persistence, the log.
  assert.ok(lines.includes('listener 1883'));
  const head = [`user ${os.userInfo().username}`, 'persistence false', 'log_dest stderr', 'log_type all'];
  fs.writeFileSync(conf, `${[...head, ...lines.map((l) => (l === 'listener 1883' ? `listener ${port}` : l))].join('\n')}\n`);
  broker = spawnTracked('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  broker.stderr?.on('data', (d: Buffer) => brokerLog.push(...d.toString().split('\n').filter(Boolean)));
  await waitPort(port);
});
after(async () => {
  for (const p of procs) await p.stop();
  broker?.kill('SIGTERM');
});

const url = (host = '127.0.0.1') => `mqtt://${host}:${port}`;
if (process.env.MOSQ_DEBUG) setInterval(() => console.error(brokerLog.splice(0).join('\n')), 1000).unref();

/** Connects as an identity; rejects with the CONNACK error if refused. */
function as(name: string, opts: IClientOptions = {}, host?: string): Promise<MqttClient> {
  const clientId = opts.clientId ?? (name === 'kitchen' || name === 'bedroom' ? `voice-sat-${name}` : `${name}-${randomUUID().slice(0, 8)}`);
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url(host), { username: name, password: secrets[name], reconnectPeriod: 0, connectTimeout: 5000, ...opts, clientId });
    c.once('connect', () => resolve(c));
    c.once('error', (err) => {
      c.end(true);
      reject(err);
    });
  });
}

function refusedCode(p: Promise<MqttClient>): Promise<number | undefined> {
  return p.then(
    (c) => {
      c.end(true);
      assert.fail('the connection was accepted');
    },
    (err: Error & { code?: number }) => err.code,
  );
}

/** SUBACK granted QoS for each filter (128 = refused). */
async function suback(c: MqttClient, filters: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const f of filters) out.push(await new Promise<number>((resolve) => c.subscribe(f, { qos: 0 }, (_err, _subs, packet) => resolve((packet as { granted?: number[] } | undefined)?.granted?.[0] ?? -1))));
  return out;
}

type Msg = { topic: string; payload: string; retain: boolean };

/** Every message the client receives, and a wait for one (among those that arrive after `from`). */
function inbox(c: MqttClient) {
  const got: Msg[] = [];
  const waiters: { pred: (m: Msg) => boolean; resolve: () => void }[] = [];
  c.on('message', (topic, payload, packet) => {
    const m = { topic, payload: payload.toString(), retain: packet.retain };
    got.push(m);
    for (const w of [...waiters]) {
      if (!w.pred(m)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  return {
    got,
    /** Waits for a message on this topic arriving after index `from` (got.length before the action). */
    async wait(topic: string, from: number, what = topic): Promise<void> {
      if (got.slice(from).some((m) => m.topic === topic)) return;
      await withTimeout(new Promise<void>((resolve) => waiters.push({ pred: (m) => m.topic === topic, resolve })), 5000, what);
    },
  };
}

test('the export: password_file 0600 in mosquitto_passwd\'s format, acl_file 0644 with one user block per identity and no patterns, and the mosquitto.conf lines', () => {
  const out = exportFiles();
  const pw = path.join(filesDir, 'password_file');
  const acl = path.join(filesDir, 'acl_file');
  assert.equal(fs.statSync(pw).mode & 0o777, 0o600);
  assert.equal(fs.statSync(acl).mode & 0o777, 0o644);
  const lines = fs.readFileSync(pw, 'utf8').trim().split('\n');
  assert.deepEqual(lines.map((l) => l.split(':')[0]).sort(), ['bedroom', 'ha', 'kitchen', 'nodered', 'recorder', HUB_IDENTITY].sort());
  for (const l of lines) assert.match(l, /^[\w-]+:\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
  const kitchen = lines.find((l) => l.startsWith('kitchen:')) ?? '';
  assert.equal(verifyMosquittoHash(secrets.kitchen, kitchen.slice('kitchen:'.length)), true);
  // The check itself agrees with mosquitto_passwd's own lines (Mosquitto accepting ours is what the other tests show).
  const own = path.join(TMP, 'mosq-sec-passwd');
  execFileSync('/usr/bin/mosquitto_passwd', ['-b', '-c', own, 'u', 'right secret']);
  const theirs = fs.readFileSync(own, 'utf8').trim().slice('u:'.length);
  assert.match(theirs, /^\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
  assert.equal(verifyMosquittoHash('right secret', theirs), true);
  assert.equal(verifyMosquittoHash('wrong secret', theirs), false);
  const text = fs.readFileSync(acl, 'utf8');
  assert.equal(/^pattern /m.test(text), false);
  assert.equal(/^topic /m.test(text.split(/^user /m)[0]), false, 'no rules for anonymous clients');
  assert.equal(text.match(/^user /gm)?.length, 6);
  for (const want of ['allow_anonymous false', `password_file ${pw}`, `acl_file ${acl}`, 'use_username_as_clientid true']) assert.ok(out.some((l) => l.trim() === want), `prints "${want}"`);
  // No hash leaves through `identities list --json`.
  const listed: string[] = [];
  assert.equal(runAdmin(['identities', 'list', '--json', '--hub-state-dir', stateDir], (s) => listed.push(s)), 0);
  assert.equal(listed.join('').includes('$7$'), false);
  assert.equal(listed.join('').includes('scrypt$'), false);
});

test('an anonymous client (from the LAN address and from loopback), a wrong secret and an unknown name are refused with CONNACK 5', async () => {
  const anon = (host: string) =>
    refusedCode(
      new Promise((resolve, reject) => {
        const c = mqtt.connect(url(host), { reconnectPeriod: 0, connectTimeout: 5000 });
        c.once('connect', () => resolve(c));
        c.once('error', (e) => (c.end(true), reject(e)));
      }),
    );
  if (lanAddress) {
    assert.equal(await anon(lanAddress), 5);
    (await as('ha', {}, lanAddress)).end(true);
  }
  assert.equal(await anon('127.0.0.1'), 5);
  assert.equal(await refusedCode(as('ha', { password: 'guess-1234' })), 5);
  assert.equal(await refusedCode(as('ha', { password: secrets.kitchen })), 5);
  assert.equal(await refusedCode(as('intruder', { password: secrets.kitchen })), 5);
});

test('satellite kitchen subscribing to the bedroom\'s audio and command, #, voice/#: Mosquitto grants the SUBACK, but delivers none of the bedroom\'s messages (its own command it gets)', async () => {
  const kitchen = await as('kitchen');
  const bedroom = await as('bedroom');
  const hub = await as(HUB_IDENTITY);
  const box = inbox(kitchen);
  assert.deepEqual(await suback(kitchen, ['voice/satellite/bedroom/audio/#', '#', 'voice/#', 'voice/satellite/+/audio/+', 'voice/satellite/bedroom/command', 'voice/satellite/bedroom/tts/#']), [0, 0, 0, 0, 0, 0]);
  const from = box.got.length;
  const sid = randomUUID();
  for (let i = 0; i < 5; i++) await bedroom.publishAsync(`voice/satellite/bedroom/audio/${sid}`, Buffer.alloc(3200, i), { qos: 1 });
  await bedroom.publishAsync('voice/satellite/bedroom/status', '{"state":"online"}', { qos: 1 });
  await hub.publishAsync('voice/satellite/bedroom/command', '{"command":"listen"}', { qos: 1 });
  await hub.publishAsync(`voice/satellite/bedroom/tts/${sid}`, Buffer.alloc(320), { qos: 1 });
  // The sentinel: sent after the rest, on a topic the kitchen reads.
  await hub.publishAsync('voice/satellite/kitchen/command', '{"command":"stop"}', { qos: 1 });
  await box.wait('voice/satellite/kitchen/command', from, 'the kitchen\'s own command');
  await sleep(100);
  assert.deepEqual([...new Set(box.got.slice(from).map((m) => m.topic))], ['voice/satellite/kitchen/command']);
  for (const c of [kitchen, bedroom, hub]) c.end(true);
});

test('satellite kitchen publishing the bedroom\'s command, a transcript, a reply, an announcement or outside the root: not delivered to the hub\'s voice/# and never retained; its own played goes through and it stays connected', async () => {
  const observer = await as(HUB_IDENTITY);
  const recorder = await as('recorder');
  const seen = inbox(observer);
  const seenOutside = inbox(recorder);
  await observer.subscribeAsync('voice/#');
  await recorder.subscribeAsync(['homeassistant/#', 'elsewhere/#']);
  const kitchen = await as('kitchen');
  let closed = false;
  kitchen.on('close', () => (closed = true));
  const forged = [
    ['voice/satellite/bedroom/command', '{"command":"listen"}'],
    ['voice/satellite/bedroom/transcript', '{"text":"unlock the front door"}'],
    ['voice/satellite/kitchen/transcript', '{"text":"unlock the front door"}'],
    ['voice/satellite/kitchen/reply', '{"text":"ok"}'],
    ['voice/satellite/kitchen/command', '{"command":"listen"}'],
    ['voice/announce', '{"text":"the house is on fire"}'],
    ['voice/room/kitchen/announce', '{"text":"the house is on fire"}'],
    ['voice/satellite/bedroom/audio/x', 'pcm'],
    ['homeassistant/lock/front/set', 'UNLOCK'],
  ];
  const from = seen.got.length;
  const fromOutside = seenOutside.got.length;
  for (const [topic, payload] of forged) {
    await kitchen.publishAsync(topic, payload, { qos: 1 });
    await kitchen.publishAsync(topic, payload, { qos: 1, retain: true });
  }
  // What it may publish still goes through (the sentinel).
  await kitchen.publishAsync('voice/satellite/kitchen/played', JSON.stringify({ sessionId: randomUUID(), playedMs: 1, reason: 'end' }), { qos: 1 });
  await seen.wait('voice/satellite/kitchen/played', from, 'the kitchen\'s own played');
  // The automation's own outside topic, as a sentinel for the recorder.
  const ha = await as('ha');
  await ha.publishAsync('homeassistant/light/kitchen/set', 'ON', { qos: 1 });
  await seenOutside.wait('homeassistant/light/kitchen/set', fromOutside, 'the automation\'s homeassistant/ message');
  await sleep(100);
  assert.deepEqual(seen.got.slice(from).filter((m) => forged.some(([t]) => t === m.topic)).map((m) => m.topic), []);
  assert.deepEqual(seenOutside.got.slice(fromOutside).map((m) => m.topic), ['homeassistant/light/kitchen/set']);
  assert.equal(closed, false);
  // Nothing forged was retained either: a new subscriber finds none of it (the hub's retained status it does). It is
  // the hub's identity again, so the observer goes first: one identity, one connection (the same client id).
  await observer.publishAsync('voice/hub/status', '{"state":"online"}', { qos: 1, retain: true });
  await observer.endAsync();
  const late = await as(HUB_IDENTITY);
  const lateSeen = inbox(late);
  await late.subscribeAsync(['voice/#', 'homeassistant/#']);
  await late.publishAsync('voice/satellite/kitchen/error', '{"code":"sentinel"}', { qos: 1 });
  await lateSeen.wait('voice/satellite/kitchen/error', 0);
  assert.ok(lateSeen.got.some((m) => m.topic === 'voice/hub/status' && m.retain), 'the retained hub status');
  assert.deepEqual(lateSeen.got.filter((m) => forged.some(([t]) => t === m.topic)).map((m) => m.topic), []);
  for (const c of [kitchen, observer, late, recorder, ha]) c.end(true);
});

test('an automation reads transcripts, statuses and played under voice/#, never audio or TTS (retained ones included) unless added with --read-audio; it may command a satellite, not forge a transcript, and outside the root only use its --allow filters', async () => {
  const hub = await as(HUB_IDENTITY);
  const sid = randomUUID();
  // A retained TTS start left behind (as a stuck stream might) before the automations subscribe.
  await hub.publishAsync(`voice/satellite/kitchen/tts/${sid}/start`, '{"retained":"secret"}', { qos: 1, retain: true });
  await hub.publishAsync('voice/hub/status', '{"state":"online"}', { qos: 1, retain: true });
  const ha = await as('ha');
  const recorder = await as('recorder');
  const got = inbox(ha);
  const rec = inbox(recorder);
  assert.deepEqual(await suback(ha, ['voice/#', 'voice/satellite/+/audio/#', 'voice/satellite/kitchen/tts/+', '#']), [0, 0, 0, 0]);
  await recorder.subscribeAsync('voice/#');
  const kitchen = await as('kitchen');
  const kbox = inbox(kitchen);
  await kitchen.subscribeAsync('voice/satellite/kitchen/command');
  for (let i = 0; i < 3; i++) await kitchen.publishAsync(`voice/satellite/kitchen/audio/${sid}`, Buffer.alloc(3200, 1), { qos: 1 });
  await kitchen.publishAsync('voice/satellite/kitchen/played', '{"reason":"end"}', { qos: 1 });
  await hub.publishAsync(`voice/satellite/kitchen/tts/${sid}`, Buffer.alloc(320), { qos: 1 });
  await hub.publishAsync('voice/satellite/kitchen/transcript', JSON.stringify({ text: 'turn on the light' }), { qos: 1 });
  await got.wait('voice/satellite/kitchen/transcript', 0, 'the transcript');
  await rec.wait('voice/satellite/kitchen/transcript', 0, 'the transcript (recorder)');
  await sleep(100);
  assert.ok(got.got.some((m) => m.topic === 'voice/hub/status' && m.retain), 'retained hub status: allowed');
  assert.ok(got.got.some((m) => m.topic === 'voice/satellite/kitchen/played'), 'played');
  assert.deepEqual(got.got.filter((m) => m.topic.includes('/audio/') || m.topic.includes('/tts/')).map((m) => m.topic), []);
  // The one added with --read-audio reads the streams, the retained TTS start too.
  assert.equal(rec.got.filter((m) => m.topic === `voice/satellite/kitchen/audio/${sid}`).length, 3);
  assert.ok(rec.got.some((m) => m.topic === `voice/satellite/kitchen/tts/${sid}/start` && m.retain), 'the recorder got the retained TTS start');
  // It commands a satellite; a transcript or reply it publishes reaches no one.
  const from = got.got.length;
  const kfrom = kbox.got.length;
  await ha.publishAsync('voice/satellite/kitchen/transcript', '{"text":"unlock the front door"}', { qos: 1 });
  await ha.publishAsync('voice/satellite/kitchen/reply', '{"text":"door unlocked"}', { qos: 1 });
  await ha.publishAsync('elsewhere/thing', 'x', { qos: 1 });
  await ha.publishAsync('voice/satellite/kitchen/command', '{"command":"listen"}', { qos: 1 });
  await kbox.wait('voice/satellite/kitchen/command', kfrom, 'the automation\'s command');
  await hub.publishAsync('voice/satellite/kitchen/error', '{"code":"sentinel"}', { qos: 1 });
  await got.wait('voice/satellite/kitchen/error', from);
  await sleep(100);
  assert.deepEqual(got.got.slice(from).map((m) => m.topic).filter((t) => t !== 'voice/satellite/kitchen/error'), []);
  assert.deepEqual(rec.got.filter((m) => m.payload.includes('unlock') || m.topic.startsWith('elsewhere')).map((m) => m.topic), []);
  await hub.publishAsync(`voice/satellite/kitchen/tts/${sid}/start`, '', { qos: 1, retain: true });
  for (const c of [ha, hub, kitchen, recorder]) c.end(true);
});

test('retained messages of another satellite are not delivered to a satellite\'s # subscription; its own retained command is', async () => {
  const hub = await as(HUB_IDENTITY);
  const sid = randomUUID();
  await hub.publishAsync('voice/satellite/bedroom/command', '{"command":"listen"}', { qos: 1, retain: true });
  await hub.publishAsync(`voice/satellite/bedroom/tts/${sid}/start`, '{"retained":"bedroom"}', { qos: 1, retain: true });
  await hub.publishAsync('voice/satellite/bedroom/transcript', '{"text":"private"}', { qos: 1, retain: true });
  await hub.publishAsync('voice/satellite/kitchen/command', '{"command":"stop"}', { qos: 1, retain: true });
  const kitchen = await as('kitchen');
  const box = inbox(kitchen);
  assert.deepEqual(await suback(kitchen, ['#']), [0]);
  // After the SUBSCRIBE's retained messages, a live one.
  await hub.publishAsync('voice/hub/status', '{"state":"online"}', { qos: 1 });
  await box.wait('voice/hub/status', 0);
  await sleep(100);
  assert.ok(box.got.some((m) => m.topic === 'voice/satellite/kitchen/command' && m.retain), 'its own retained command');
  assert.deepEqual(box.got.filter((m) => m.topic.includes('bedroom')).map((m) => m.topic), []);
  for (const t of ['voice/satellite/bedroom/command', `voice/satellite/bedroom/tts/${sid}/start`, 'voice/satellite/bedroom/transcript', 'voice/satellite/kitchen/command']) await hub.publishAsync(t, '', { qos: 1, retain: true });
  for (const c of [kitchen, hub]) c.end(true);
});

test('a client id cannot be taken over across identities: Mosquitto replaces every client id by the username, so another satellite, an automation or a hub impostor using voice-sat-kitchen, kitchen or voice-hub gets its own, and the victims stay connected', async () => {
  const kitchen = await as('kitchen');
  const hub = await as(HUB_IDENTITY, { clientId: 'voice-hub' });
  const kbox = inbox(kitchen);
  await kitchen.subscribeAsync('voice/satellite/kitchen/command');
  let dropped = 0;
  for (const c of [kitchen, hub]) c.on('close', () => dropped++);
  const logFrom = brokerLog.length;
  const attackers = [await as('bedroom', { clientId: 'voice-sat-kitchen' }), await as('bedroom', { clientId: 'kitchen' }), await as('ha', { clientId: 'voice-sat-kitchen' }), await as('nodered', { clientId: 'voice-hub' })];
  // The attackers' connections were accepted under their own names.
  assert.ok(brokerLog.slice(logFrom).some((l) => / as bedroom \(.*u'bedroom'\)/.test(l)), brokerLog.slice(logFrom).join('\n'));
  assert.equal(brokerLog.slice(logFrom).some((l) => / as (voice-sat-kitchen|kitchen|voice-hub) /.test(l)), false);
  // The kitchen still gets its command, over the connection it had.
  const from = kbox.got.length;
  await hub.publishAsync('voice/satellite/kitchen/command', '{"command":"stop"}', { qos: 1 });
  await kbox.wait('voice/satellite/kitchen/command', from);
  assert.equal(dropped, 0, 'the kitchen and the hub were not knocked off');
  assert.equal(kitchen.connected && hub.connected, true);
  for (const c of attackers) c.end(true);
  // The same identity connecting again does take its own id over (a reconnect): the older connection is closed.
  const closed = new Promise<void>((resolve) => kitchen.once('close', () => resolve()));
  const again = await as('kitchen');
  await withTimeout(closed, 5000, 'the older kitchen connection to be closed');
  for (const c of [again, hub]) c.end(true);
});

test('revocation: a removed satellite stays connected, and can connect again, until Mosquitto is sent SIGHUP; then its live connection is dropped and it is refused with CONNACK 5', async () => {
  secrets.attic = store.add('attic', 'satellite', { room: 'attic' });
  exportFiles();
  await reload();
  const first = await as('attic');
  let firstClosed = false;
  first.once('close', () => (firstClosed = true));
  assert.equal(runAdmin(['satellite', 'remove', 'attic', '--hub-state-dir', stateDir], () => undefined), 0);
  exportFiles();
  assert.equal(fs.readFileSync(path.join(filesDir, 'password_file'), 'utf8').includes('attic:'), false);
  await sleep(300);
  assert.equal(firstClosed, false, 'not dropped before the reload');
  // Mosquitto reads its files only at start and on SIGHUP: until then the removed identity connects again (taking
  // its own client id over from the first connection).
  const attic = await as('attic');
  const closed = new Promise<void>((resolve) => attic.once('close', () => resolve()));
  await reload();
  await withTimeout(closed, 5000, 'the removed satellite\'s live connection to be dropped at the reload');
  assert.equal(await refusedCode(as('attic')), 5);
});

test('the export names identities without a Mosquitto hash and writes nothing (or leaves them out with --skip-missing); the hub\'s own is made again from hub.secret (by the export and at the hub\'s start); --allow refuses filters reaching under the root', async () => {
  const dir = path.join(TMP, 'mosq-sec-legacy');
  const out = path.join(TMP, 'mosq-sec-legacy-files');
  const legacy = new IdentityStore(dir).open();
  const hubSecret = await legacy.hubSecret();
  legacy.add('old-sat', 'satellite');
  legacy.add('new-sat', 'satellite');
  // As a store from before the export existed: no Mosquitto hashes, the hub's included.
  const file = path.join(dir, 'identities.json');
  const data = JSON.parse(fs.readFileSync(file, 'utf8')) as { identities: { name: string; mosquitto?: string }[] };
  for (const i of data.identities) if (i.name !== 'new-sat') delete i.mosquitto;
  fs.writeFileSync(file, JSON.stringify(data));
  assert.throws(
    () => exportMosquitto(new IdentityStore(dir).open(), { dir: out, root: 'voice' }),
    (e: unknown) => isVoiceError(e) && e.code === 'VOICE_MOSQUITTO_HASH_MISSING' && e.message.startsWith('old-sat was added') && !e.message.includes('new-sat'),
  );
  assert.equal(fs.existsSync(path.join(out, 'password_file')), false);
  const r = exportMosquitto(new IdentityStore(dir).open(), { dir: out, root: 'voice', skipMissing: true });
  assert.deepEqual(r.missing, ['old-sat']);
  const pw = fs.readFileSync(r.passwordFile, 'utf8');
  assert.equal(pw.includes('old-sat'), false);
  const hubLine = pw.split('\n').find((l) => l.startsWith(`${HUB_IDENTITY}:`)) ?? '';
  assert.equal(verifyMosquittoHash(hubSecret, hubLine.slice(HUB_IDENTITY.length + 1)), true, 'the hub\'s hash made again from hub.secret');
  for (const bad of ['#', '+/#', 'voice/#', 'voice', '+', '+/status', '+/satellite/x', 'voice/+/kitchen', 'home assistant/#', 'a\ntopic readwrite #', 'a\nuser voice-hub', 'a/#/b', 'a+/b']) {
    assert.throws(() => exportMosquitto(new IdentityStore(dir).open(), { dir: out, root: 'voice', allow: [bad], skipMissing: true }), (e: unknown) => isVoiceError(e) && e.code === 'VOICE_MOSQUITTO_ALLOW_INVALID', bad);
  }
  // The hub at its start does the same, keeping its secret.
  const stripHub = () => {
    const d = JSON.parse(fs.readFileSync(file, 'utf8')) as { identities: { name: string; mosquitto?: string }[] };
    for (const i of d.identities) if (i.name === HUB_IDENTITY) delete i.mosquitto;
    fs.writeFileSync(file, JSON.stringify(d));
  };
  stripHub();
  assert.equal(await new IdentityStore(dir).open().hubSecret(), hubSecret);
  const remade = new IdentityStore(dir).open().get(HUB_IDENTITY)?.mosquitto;
  assert.ok(remade && verifyMosquittoHash(hubSecret, remade), 'the hub\'s hash made again at its start');
  for (const ok of ['homeassistant/#', 'a/+/status', 'voices/#', 'zigbee2mqtt/+/set', '$SYS/#']) exportMosquitto(new IdentityStore(dir).open(), { dir: out, root: 'voice', allow: [ok], skipMissing: true });
});

test('the real hub and a real satellite through this Mosquitto: the automation gets the transcript, with the room of the satellite\'s identity (added while the hub ran), and the spoken apology is played', async () => {
  const hubProc = runNode('hub/main.js', ['--mqtt-url', url(), '--mqtt-username', HUB_IDENTITY, '--mqtt-password', secrets[HUB_IDENTITY], '--hub-state-dir', stateDir, '--stt-workers', '1', '--llm-host', 'http://127.0.0.1:9', '--llm-first-token-timeout-ms', '2000']);
  procs.push(hubProc);
  await hubProc.waitLog((o) => o.msg === 'hub ready', 60000);
  secrets.porch = store.add('porch', 'satellite', { room: 'porch' });
  exportFiles();
  await reload();
  const ha = await as('ha');
  const box = inbox(ha);
  await ha.subscribeAsync(['voice/satellite/porch/transcript', 'voice/satellite/porch/played', 'voice/satellite/porch/status']);
  const spoken = 'set a timer for ten minutes';
  const sat = runNode('satellite/main.js', [
    '--mqtt-url', url(), '--mqtt-username', 'porch', '--mqtt-password', secrets.porch, '--satellite-id', 'porch', '--satellite-room', 'garden',
    '--audio-source', 'wav', '--audio-wav', wakeCommandWav(spoken, { name: 'mosq-sec' }), '--playback-sink', 'file', '--playback-dir', path.join(TMP, 'mosq-sec-play'),
  ]);
  procs.push(sat);
  await withTimeout(
    (async () => {
      while (!box.got.some((m) => m.topic === 'voice/satellite/porch/transcript' && (JSON.parse(m.payload) as { final?: boolean }).final)) await sleep(100);
    })(),
    90000,
    'the final transcript',
  );
  const t = box.got.map((m) => ({ topic: m.topic, p: JSON.parse(m.payload) as { text: string; room: string; final: boolean } })).find((m) => m.topic === 'voice/satellite/porch/transcript' && m.p.final);
  assert.ok(t);
  assert.equal(t.p.room, 'porch', 'the room of the identity, not the one the satellite claims');
  assert.ok(wer(spoken, t.p.text).rate <= 0.35, t.p.text);
  // No Ollama here: the hub speaks the apology, which the satellite reads (its tts/...) and reports played.
  await box.wait('voice/satellite/porch/played', 0, 'the satellite to report the apology played');
  ha.end(true);
});
