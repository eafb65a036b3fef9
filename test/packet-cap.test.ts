/**
 * The cap on MQTT packet size at the embedded broker (broker.maxPacketBytes;
 * hub/security/packet-cap.ts): the scanner follows real packets split at
 * every byte; on a real hub, a client that declares a packet over the cap
 * is cut off before it sends the body, authenticated or not, with
 * VOICE_MQTT_PACKET_TOO_LARGE on the right error topic (once per client per
 * minute), nothing of the packet is delivered, and everyone else carries on.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import type { Hub } from '../hub/controller';
import { PacketScanner } from '../hub/security/packet-cap';
import { sleep } from './cover-helpers';
import { Collector, jsonOf } from './helpers';
import { startHub } from './hub-helpers';
import { adminAuth } from './credentials';

const CAP = 65536;
let hub: Hub;
let url = '';
let watch: Collector;
const logs: Record<string, unknown>[] = [];
const secrets: Record<string, string> = {};

before(async () => {
  hub = await startHub(['--broker-max-packet-bytes', String(CAP), '--reply-enabled', 'false'], { logs });
  url = `mqtt://127.0.0.1:${hub.broker?.port ?? 0}`;
  secrets.den = hub.identities?.add('den', 'satellite', { room: 'den' }) ?? '';
  secrets.flows = hub.identities?.add('flows', 'automation') ?? '';
  watch = new Collector(await mqtt.connectAsync(url, { ...adminAuth(url), reconnectPeriod: 0 }));
  await watch.client.subscribeAsync(['voice/#', 'house/#'], { qos: 1 });
});
after(async () => {
  await watch?.end();
  await hub?.stop();
});

function publishPacket(topic: string, bytes: number): Buffer {
  return mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.alloc(bytes, 7), qos: 0, dup: false, retain: false });
}

test('the scanner follows real packets fed one byte at a time, and names the first one over the cap', () => {
  const packets = [
    mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'x', keepalive: 10 }),
    mqttPacket.generate({ cmd: 'pingreq' }), // remaining length 0
    publishPacket('a', 100), // 1-byte length
    publishPacket('a', 300), // 2 bytes
    publishPacket('a', 20000), // 3 bytes
    publishPacket('a', CAP - 7), // exactly the cap: 1 + 3 (length) + 2 + 1 (topic) + payload
  ];
  assert.equal(packets.at(-1)?.length, CAP);
  const all = Buffer.concat(packets);
  const s = new PacketScanner();
  for (let i = 0; i < all.length; i++) assert.equal(s.scan(all.subarray(i, i + 1), CAP), 0, `byte ${i}`);
  // The next packet is one byte over: named as soon as its length is read, long before its body.
  const over = publishPacket('a', CAP - 6);
  assert.equal(s.scan(over.subarray(0, 3), CAP), 0, 'not yet: the length is not complete');
  assert.equal(s.scan(over.subarray(3, 4), CAP), CAP + 1);
  // Whole packets in one chunk too, and a length with a fifth byte is not MQTT.
  assert.equal(new PacketScanner().scan(Buffer.concat([...packets, over]), CAP), CAP + 1);
  assert.equal(new PacketScanner().scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), CAP), -1);
});

test('an unauthenticated client declaring a 200 MB packet is cut off before sending it; the hub says so on its error topic', async () => {
  const from = watch.messages.length;
  const sock = net.connect(hub.broker?.port ?? 0, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  // A PUBLISH header declaring 200 MB, then the first 64 KiB of it, before any CONNECT.
  const header = mqttPacket.generate({ cmd: 'publish', topic: 'voice/satellite/den/command', payload: Buffer.alloc(0), qos: 0, dup: false, retain: false });
  const len = 200 * 1024 * 1024;
  const varint = [len & 0x7f | 0x80, (len >> 7) & 0x7f | 0x80, (len >> 14) & 0x7f | 0x80, (len >> 21) & 0x7f];
  let sent = 0;
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  sock.on('error', () => undefined);
  sock.write(Buffer.from([header[0], ...varint]));
  for (let i = 0; i < 64 && !sock.destroyed; i++) {
    sock.write(Buffer.alloc(1024));
    sent += 1024;
  }
  await Promise.race([closed, sleep(5000).then(() => assert.fail('the connection stayed open'))]);
  const err = jsonOf(await watch.next((tp) => tp === 'voice/hub/error', 5000, from));
  assert.equal(err.code, 'VOICE_MQTT_PACKET_TOO_LARGE');
  assert.match(String(err.message), /a client at 127\.0\.0\.1 \(not yet authenticated\) sent a 209715205-byte MQTT packet, over broker\.maxPacketBytes \(65536\)/);
  assert.ok(sent <= 64 * 1024);
  const line = logs.find((o) => o.code === 'VOICE_MQTT_PACKET_TOO_LARGE');
  assert.equal(line?.remote, '127.0.0.1');
});

test('a satellite publishing over the cap is disconnected, its error topic says why once a minute, nothing is delivered; under the cap passes', async () => {
  const from = watch.messages.length;
  const connectDen = () => mqtt.connectAsync(url, { username: 'den', password: secrets.den, clientId: 'voice-sat-den', reconnectPeriod: 0 });
  const flows = await mqtt.connectAsync(url, { username: 'flows', password: secrets.flows, reconnectPeriod: 0 });
  let den: MqttClient = await connectDen();
  // Just under the cap: delivered.
  await den.publishAsync('voice/satellite/den/status', Buffer.alloc(CAP - 100, 0x20), { qos: 1 });
  await watch.next((tp, p) => tp === 'voice/satellite/den/status' && p.length === CAP - 100, 5000, from);
  for (let round = 0; round < 2; round++) {
    const gone = new Promise<void>((r) => den.once('close', () => r()));
    den.publish('voice/satellite/den/status', Buffer.alloc(CAP, 0x20), { qos: 0 });
    await Promise.race([gone, sleep(5000).then(() => assert.fail('the satellite stayed connected'))]);
    den.end(true);
    den = await connectDen(); // it may come back
  }
  const tooLarge = (tp: string, p: Buffer) => tp === 'voice/satellite/den/error' && jsonOf({ payload: p }).code === 'VOICE_MQTT_PACKET_TOO_LARGE';
  const err = jsonOf(await watch.next(tooLarge, 5000, from));
  assert.equal(err.satellite, 'den');
  assert.ok(String(err.message).startsWith(`satellite den sent a ${publishPacket('voice/satellite/den/status', CAP).length}-byte MQTT packet`), String(err.message));
  // The automation still works and a normal publish goes through after.
  await flows.publishAsync('house/ok', 'still here', { qos: 1 });
  await watch.next((tp) => tp === 'house/ok', 5000, from);
  await den.publishAsync('voice/satellite/den/status', JSON.stringify({ state: 'idle' }), { qos: 1 });
  await watch.next((tp, p) => tp === 'voice/satellite/den/status' && p.length < 100, 5000, from);
  const mine = watch.messages.slice(from);
  assert.equal(mine.filter((m) => tooLarge(m.topic, m.payload)).length, 1, 'reported once, not once per packet');
  assert.ok(!mine.some((m) => m.payload.length >= CAP), 'nothing of an oversized packet was delivered');
  const line = logs.filter((o) => o.code === 'VOICE_MQTT_PACKET_TOO_LARGE' && o.identity === 'den');
  assert.equal(line.length, 1);
  den.end(true);
  flows.end(true);
});
