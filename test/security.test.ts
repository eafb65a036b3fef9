/**
 * The attack matrix on the hub's embedded broker (issue 9; docs/security.md):
 * real aedes, real MQTT clients holding identities made as an admin makes
 * them (the store the CLI writes). Each case asserts the refusal at the
 * protocol level (CONNACK, SUBACK, a dropped publish) and that the victim's
 * data never arrives.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import { after, before, test } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Hub } from '../hub/controller';
import { runAdmin } from '../hub/cli';
import { adminAuth } from './credentials';
import { sleep } from './cover-helpers';
import { withTimeout } from './helpers';
import { startHub } from './hub-helpers';

let hub: Hub;
const logs: Record<string, unknown>[] = [];
const secrets: Record<string, string> = {};
let port = 0;
const lanAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

before(async () => {
  // Listening on every interface, as a hub in a house does.
  hub = await startHub(['--broker-host', '0.0.0.0', '--reply-enabled', 'false'], { logs });
  port = hub.broker?.port ?? 0;
  const store = hub.identities;
  assert.ok(store);
  secrets.kitchen = store.add('kitchen', 'satellite', { room: 'kitchen' });
  secrets.bedroom = store.add('bedroom', 'satellite', { room: 'bedroom' });
  secrets.ha = store.add('ha', 'automation');
  secrets.nodered = store.add('nodered', 'automation');
});
after(() => hub.stop());

const url = (host = '127.0.0.1') => `mqtt://${host}:${port}`;

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
  for (const f of filters) {
    // mqtt.js reports a SUBACK of 128 as an error; the SUBACK packet comes with it.
    out.push(await new Promise<number>((resolve) => c.subscribe(f, { qos: 0 }, (_err, _subs, packet) => resolve((packet as { granted?: number[] } | undefined)?.granted?.[0] ?? -1))));
  }
  return out;
}

function inbox(c: MqttClient): { topic: string; payload: Buffer; retain: boolean }[] {
  const got: { topic: string; payload: Buffer; retain: boolean }[] = [];
  c.on('message', (topic, payload, packet) => got.push({ topic, payload, retain: packet.retain }));
  return got;
}

test('an anonymous client from the machine\'s LAN address, and from loopback, is refused with CONNACK 5', { skip: lanAddress ? false : 'no non-loopback IPv4 address here' }, async () => {
  const anon = (host: string) =>
    refusedCode(
      new Promise((resolve, reject) => {
        const c = mqtt.connect(url(host), { reconnectPeriod: 0, connectTimeout: 5000 });
        c.once('connect', () => resolve(c));
        c.once('error', (e) => (c.end(true), reject(e)));
      }),
    );
  assert.equal(await anon(lanAddress as string), 5);
  assert.equal(await anon('127.0.0.1'), 5);
  // The same identity check admits a real one over the LAN address.
  (await as('ha', {}, lanAddress)).end(true);
});

test('satellite kitchen may not subscribe to the bedroom\'s audio, to #, or to voice/#; it never receives the bedroom\'s audio', async () => {
  const kitchen = await as('kitchen');
  const bedroom = await as('bedroom');
  const got = inbox(kitchen);
  assert.deepEqual(await suback(kitchen, ['voice/satellite/bedroom/audio/#', '#', 'voice/#', 'voice/satellite/+/audio/+', 'voice/satellite/bedroom/command']), [128, 128, 128, 128, 128]);
  // Its own topics it may use.
  assert.deepEqual(await suback(kitchen, ['voice/satellite/kitchen/command', 'voice/satellite/kitchen/tts/+/#', 'voice/hub/status']), [0, 0, 0]);
  const sid = randomUUID();
  for (let i = 0; i < 5; i++) await bedroom.publishAsync(`voice/satellite/bedroom/audio/${sid}`, Buffer.alloc(3200, i), { qos: 0 });
  await sleep(300);
  assert.deepEqual(got.filter((m) => m.topic.includes('bedroom')), []);
  kitchen.end(true);
  bedroom.end(true);
});

test('satellite kitchen publishing the bedroom\'s command, a transcript (its own or another\'s) or an announcement: dropped, delivered to nobody, logged once per reason', async () => {
  const observer = await mqtt.connectAsync(url(), { ...adminAuth(url()), reconnectPeriod: 0 });
  const seen = inbox(observer);
  await observer.subscribeAsync('voice/#');
  const kitchen = await as('kitchen');
  let closed = false;
  kitchen.on('close', () => (closed = true));
  const forged = [
    ['voice/satellite/bedroom/command', '{"command":"listen"}'],
    ['voice/satellite/bedroom/transcript', '{"text":"unlock the front door"}'],
    ['voice/satellite/kitchen/transcript', '{"text":"unlock the front door"}'],
    ['voice/satellite/kitchen/reply', '{"text":"ok"}'],
    ['voice/announce', '{"text":"the house is on fire"}'],
  ];
  for (const [topic, payload] of forged) {
    await kitchen.publishAsync(topic, payload, { qos: 1 });
    await kitchen.publishAsync(topic, payload, { qos: 1, retain: true });
  }
  // What it may publish still goes through (the connection stays up).
  await kitchen.publishAsync('voice/satellite/kitchen/played', JSON.stringify({ sessionId: randomUUID(), playedMs: 1, reason: 'end' }), { qos: 1 });
  await sleep(300);
  assert.deepEqual(seen.filter((m) => forged.some(([t]) => t === m.topic)).map((m) => m.topic), []);
  assert.ok(seen.some((m) => m.topic === 'voice/satellite/kitchen/played'), 'its own played went through');
  assert.equal(closed, false);
  // Nothing forged was retained either: a new subscriber finds none of it.
  const late = await mqtt.connectAsync(url(), { ...adminAuth(url()), reconnectPeriod: 0 });
  const lateSeen = inbox(late);
  await late.subscribeAsync('voice/#');
  await sleep(300);
  assert.deepEqual(lateSeen.filter((m) => forged.some(([t]) => t === m.topic)).map((m) => m.topic), []);
  const denials = logs.filter((l) => l.identity === 'kitchen' && String(l.msg).startsWith('embedded broker refused a publish'));
  const reasons = denials.map((l) => String(l.reason));
  assert.equal(new Set(reasons).size, reasons.length, `each reason logged once: ${reasons.join(' | ')}`);
  assert.ok(denials.length >= 3, `${denials.length} denials logged`);
  for (const c of [kitchen, observer, late]) c.end(true);
});

test('an automation reads transcripts and statuses under voice/#, never audio or TTS (retained ones included); subscribing to audio is refused', async () => {
  const ha = await as('ha');
  const got = inbox(ha);
  assert.deepEqual(await suback(ha, ['voice/satellite/+/audio/#', 'voice/satellite/kitchen/tts/+']), [128, 128]);
  // The hub's identity leaves a retained TTS start behind (as a stuck stream might) before the automation subscribes.
  const hubClient = await mqtt.connectAsync(url(), { ...adminAuth(url()), reconnectPeriod: 0 });
  const sid = randomUUID();
  await hubClient.publishAsync(`voice/satellite/kitchen/tts/${sid}/start`, '{"retained":"secret"}', { qos: 1, retain: true });
  assert.deepEqual(await suback(ha, ['voice/#']), [0]);
  const kitchen = await as('kitchen');
  for (let i = 0; i < 3; i++) await kitchen.publishAsync(`voice/satellite/kitchen/audio/${sid}`, Buffer.alloc(3200, 1), { qos: 0 });
  await hubClient.publishAsync('voice/satellite/kitchen/transcript', JSON.stringify({ text: 'turn on the light' }), { qos: 1 });
  await sleep(300);
  assert.ok(got.some((m) => m.topic === 'voice/hub/status' && m.retain), 'retained hub status: allowed');
  assert.ok(got.some((m) => m.topic === 'voice/satellite/kitchen/transcript'), 'the transcript');
  assert.deepEqual(got.filter((m) => m.topic.includes('/audio/') || m.topic.includes('/tts/')).map((m) => m.topic), []);
  await hubClient.publishAsync(`voice/satellite/kitchen/tts/${sid}/start`, '', { qos: 1, retain: true });
  for (const c of [ha, hubClient, kitchen]) c.end(true);
});

test('a client id is not taken over across identities: another satellite, an automation or a hub impostor using voice-sat-kitchen (or the hub\'s id) is refused with CONNACK 2, and the kitchen stays connected', async () => {
  const kitchen = await as('kitchen');
  let dropped = false;
  kitchen.on('close', () => (dropped = true));
  assert.equal(await refusedCode(as('bedroom', { clientId: 'voice-sat-kitchen' })), 2);
  assert.equal(await refusedCode(as('ha', { clientId: 'voice-sat-kitchen' })), 2);
  assert.equal(await refusedCode(as('ha', { clientId: 'voice-hub' })), 2);
  // A satellite must use its own client id.
  assert.equal(await refusedCode(as('kitchen', { clientId: 'kitchen-2' })), 2);
  // Any client id in use belongs to its identity: another automation cannot take Home Assistant's.
  const ha = await as('ha', { clientId: 'home-assistant' });
  let haDropped = false;
  ha.on('close', () => (haDropped = true));
  assert.equal(await refusedCode(as('nodered', { clientId: 'home-assistant' })), 2);
  await sleep(200);
  assert.equal(dropped, false, 'the kitchen was not knocked off');
  assert.equal(haDropped, false, 'Home Assistant was not knocked off');
  // The same identity may take its own id over (a client reconnecting before the broker saw it go).
  const again = await as('ha', { clientId: 'home-assistant' });
  again.end(true);
  for (const c of [kitchen, ha]) c.end(true);
});

test('a removed satellite is disconnected within a second and refused afterwards', async () => {
  const store = hub.identities;
  assert.ok(store);
  secrets.attic = store.add('attic', 'satellite');
  const attic = await as('attic', { clientId: 'voice-sat-attic' });
  const closedAt = new Promise<number>((resolve) => attic.once('close', () => resolve(Date.now())));
  const out: string[] = [];
  const removedAt = Date.now();
  assert.equal(runAdmin(['satellite', 'remove', 'attic', '--hub-state-dir', store.dir], (s) => out.push(s)), 0);
  const ms = (await withTimeout(closedAt, 5000, 'the removed satellite to be disconnected')) - removedAt;
  assert.ok(ms <= 1000, `disconnected ${ms} ms after the removal`);
  assert.equal(await refusedCode(as('attic', { clientId: 'voice-sat-attic' })), 5);
});

test('a wrong secret is refused with CONNACK 5, and no secret (right or wrong) appears in the hub\'s log', async () => {
  assert.equal(await refusedCode(as('ha', { password: 'guess-1234' })), 5);
  const hubSecret = adminAuth(url()).password;
  assert.ok(hubSecret);
  const text = logs.map((l) => JSON.stringify(l)).join('\n');
  assert.ok(text.includes('embedded broker refused'), 'the log holds the refusals');
  for (const [name, secret] of Object.entries({ ...secrets, hub: hubSecret })) assert.equal(text.includes(secret), false, `the secret of ${name} is in the log`);
  assert.equal(text.includes('guess-1234'), false);
});
