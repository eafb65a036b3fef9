/**
 * The satellite registry and the event bus: who exists, where, with what,
 * in which state, as a feature module sees it on the bus. The registry's
 * behaviour lives in the hub, so a plain MQTT client plays the satellite.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { EventBus, type HubEvents, type SatelliteState } from '../hub/bus';
import type { Hub } from '../hub/controller';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { wavFromPcm } from '../common/wav';
import { Collector, runNode, silence, speakSession, TMP } from './helpers';
import { startHub } from './hub-helpers';
import { OllamaDouble, tokenize } from './ollama-double';
import { adminAuth } from './credentials';

let hub: Hub;
let double: OllamaDouble;
let col: Collector;
const owner = {};
const events: { event: keyof HubEvents; satellite: string; detail?: string }[] = [];

function waitFor<T>(pred: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () => {
      const v = pred();
      if (v !== undefined && v !== false) return resolve(v);
      if (Date.now() > end) return reject(new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events)}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

before(async () => {
  double = await new OllamaDouble().start();
  double.behaviour = { kind: 'stream', tokens: tokenize('It is sunny today.'), delayMs: 30, firstDelayMs: 300 };
  hub = await startHub(['--llm-host', double.url, '--reply-handled-wait-ms', '50']);
  hub.bus.on(owner, 'satelliteOnline', (s) => events.push({ event: 'satelliteOnline', satellite: s.id }));
  hub.bus.on(owner, 'satelliteOffline', (s) => events.push({ event: 'satelliteOffline', satellite: s.id }));
  hub.bus.on(owner, 'satelliteState', ({ satellite }) => events.push({ event: 'satelliteState', satellite: satellite.id, detail: satellite.state }));
  hub.bus.on(owner, 'transcript', (t) => events.push({ event: 'transcript', satellite: t.satellite, detail: t.text }));
  col = await Collector.create(hub.brokerUrl, ['voice/#']);
});
after(async () => {
  hub.bus.removeOwner(owner);
  await col?.end();
  await hub?.stop();
  await double?.stop();
});

test('status and last will: the registry knows room, group, capabilities, version, presence and last seen', async () => {
  const will = { topic: 'voice/satellite/den/status', payload: Buffer.from(JSON.stringify({ state: 'offline', protocol: 1 })), qos: 1 as const, retain: true };
  const sat: MqttClient = await mqtt.connectAsync(hub.brokerUrl, { ...adminAuth(hub.brokerUrl), will, reconnectPeriod: 0, keepalive: 60 });
  const from = events.length;
  const before = Date.now();
  await sat.publishAsync('voice/satellite/den/status', JSON.stringify({ state: 'online', protocol: 1, room: 'den', group: 'upstairs', version: '9.9.9', capabilities: ['wake', 'stream'] }), { qos: 1, retain: true });
  await waitFor(() => events.slice(from).find((e) => e.event === 'satelliteOnline' && e.satellite === 'den'), 3000, 'den online');
  const info = hub.registry.get('den');
  assert.ok(info);
  assert.deepEqual({ room: info.room, group: info.group, version: info.version, online: info.online, state: info.state, capabilities: info.capabilities }, { room: 'den', group: 'upstairs', version: '9.9.9', online: true, state: 'idle', capabilities: ['wake', 'stream'] });
  assert.ok(info.lastSeen >= before);
  assert.deepEqual(hub.registry.online((s) => s.room === 'den').map((s) => s.id), ['den']);
  // The connection drops: the broker publishes the last will.
  const from2 = events.length;
  sat.stream.destroy();
  await waitFor(() => events.slice(from2).find((e) => e.event === 'satelliteOffline' && e.satellite === 'den'), 5000, 'den offline');
  assert.equal(hub.registry.get('den')?.online, false);
  assert.deepEqual(hub.registry.online((s) => s.room === 'den'), []);
  sat.end(true);
});

test('state follows a whole interaction: idle -> listening -> processing -> responding -> idle, and muted', async () => {
  const client = col.client;
  await client.publishAsync('voice/satellite/kit/status', JSON.stringify({ state: 'online', protocol: 1, room: 'kitchen' }), { qos: 1, retain: true });
  await waitFor(() => hub.registry.get('kit')?.online, 3000, 'kit online');
  const from = events.length;
  const states = () => events.slice(from).filter((e) => e.event === 'satelliteState' && e.satellite === 'kit').map((e) => e.detail as SatelliteState);
  const sid = await speakSession(client, 'kit', 'turn on the kitchen light');
  // The reply streams (first token after 300 ms), its audio goes out, then the satellite reports it played.
  const ttsStop = await col.next((t) => t.startsWith('voice/satellite/kit/tts/') && t.endsWith('/stop'), 20000);
  assert.ok(ttsStop);
  assert.equal(hub.registry.get('kit')?.state, 'responding', 'responding until the satellite reports played');
  await client.publishAsync('voice/satellite/kit/played', JSON.stringify({ sessionId: sid, reason: 'done', playedMs: 900, time: new Date().toISOString() }), { qos: 1 });
  await waitFor(() => hub.registry.get('kit')?.state === 'idle', 3000, 'idle after played');
  assert.deepEqual(states(), ['listening', 'processing', 'responding', 'idle']);
  const tr = events.slice(from).find((e) => e.event === 'transcript');
  assert.equal(tr?.satellite, 'kit');

  const from2 = events.length;
  await client.publishAsync('voice/satellite/kit/status', JSON.stringify({ state: 'online', protocol: 1, room: 'kitchen', muted: true }), { qos: 1, retain: true });
  await waitFor(() => hub.registry.get('kit')?.state === 'muted', 3000, 'muted');
  await client.publishAsync('voice/satellite/kit/status', JSON.stringify({ state: 'online', protocol: 1, room: 'kitchen', muted: false }), { qos: 1, retain: true });
  await waitFor(() => hub.registry.get('kit')?.state === 'idle', 3000, 'unmuted');
  assert.deepEqual(events.slice(from2).filter((e) => e.event === 'satelliteState' && e.satellite === 'kit').map((e) => e.detail), ['muted', 'idle']);
  // Online both times: no second online event for a status update.
  assert.equal(events.slice(from2).filter((e) => e.event === 'satelliteOnline').length, 0);
});

test('the bus: listeners are filed by owner and removed together; a throwing listener does not stop the others', () => {
  const bus = new EventBus(pino({ level: 'silent' }));
  const a = {};
  const b = {};
  const got: string[] = [];
  bus.on(a, 'command', () => {
    throw new Error('feature a is broken');
  });
  bus.on(a, 'command', ({ satellite }) => got.push(`a:${satellite}`));
  bus.on(a, 'played', () => got.push('a:played'));
  bus.on(b, 'command', ({ satellite }) => got.push(`b:${satellite}`));
  bus.emit('command', { satellite: 'x', command: { command: 'stop' } });
  assert.deepEqual(got, ['a:x', 'b:x']);
  bus.removeOwner(a);
  assert.equal(bus.listenerCount(), 1);
  bus.emit('command', { satellite: 'y', command: { command: 'stop' } });
  bus.emit('played', { satellite: 'y', played: { sessionId: 's', reason: 'done', playedMs: 0, time: '' } });
  assert.deepEqual(got, ['a:x', 'b:x', 'b:y']);
});

test("stopping the hub's features removes every listener they put on the bus", async () => {
  const h = await startHub([]);
  const before = h.bus.listenerCount();
  assert.ok(before >= 8, `features listen on the bus (${before} listeners)`);
  await h.stop();
  assert.equal(h.bus.listenerCount(), 0);
});

test('a real satellite process: its room and group reach the registry, and it is offline after it stops', async (t) => {
  const wav = path.join(TMP, 'registry-quiet.wav');
  fs.writeFileSync(wav, wavFromPcm(silence(500)));
  const sat = runNode('satellite/main.js', ['--mqtt-url', hub.brokerUrl, '--satellite-id', 'attic', '--satellite-room', 'attic', '--satellite-group', 'upstairs', '--audio-source', 'wav', '--audio-wav', wav, '--audio-wav-trailing-silence-ms', '0', '--playback-sink', 'file']);
  t.after(() => sat.stop());
  await waitFor(() => hub.registry.get('attic')?.online, 20000, 'attic online');
  assert.equal(hub.registry.get('attic')?.room, 'attic');
  assert.equal(hub.registry.get('attic')?.group, 'upstairs');
  assert.ok(hub.registry.get('attic')?.capabilities.includes('playback'));
  await sat.stop();
  await waitFor(() => hub.registry.get('attic')?.online === false || undefined, 5000, 'attic offline');
});
