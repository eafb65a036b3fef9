/**
 * Reliability: the broker goes away and comes back. An external Mosquitto is
 * stopped and restarted; the hub with its embedded broker is restarted. Hub
 * and satellite reconnect by themselves, a full session succeeds within
 * 10 s of the broker being back, and the retained status topics are right.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { wavFromPcm } from '../common/wav';
import { Collector, freePort, jsonOf, type Proc, runNode, silence, spawnTracked, speak, TMP, waitPort, wer, withTimeout } from './helpers';
import { ensureVirtualMic, sh } from './pulse';

function mosquitto(port: number): ChildProcess {
  return spawnTracked('mosquitto', ['-p', String(port)], { stdio: 'ignore' });
}

// Satellites here listen on the PulseAudio virtual microphone.
before(() => ensureVirtualMic());

const SPOKEN = 'turn on the hallway light';

/** A satellite on the real microphone path (PulseAudio virtual mic). */
function satellite(url: string, id: string): Proc {
  return runNode('satellite/main.js', ['--mqtt-url', url, '--satellite-id', id, '--satellite-room', 'hall', '--audio-source', 'microphone', '--playback-sink', 'file', '--playback-dir', path.join(TMP, `${id}-play`)]);
}

/** Waits until the satellite has re-announced itself on the (new) broker, then says "hey jarvis, <SPOKEN>" into the mic. */
async function speakAfterReconnect(url: string, id: string): Promise<{ col: Collector; reconnectedAt: number }> {
  const col = await Collector.create(url, [`voice/satellite/${id}/status`, `voice/satellite/${id}/transcript`]);
  await col.next((t, p) => t === `voice/satellite/${id}/status` && jsonOf({ payload: p }).state === 'online', 10000);
  const reconnectedAt = Date.now();
  const wav = path.join(TMP, `${id}-say.wav`);
  fs.writeFileSync(wav, wavFromPcm(Buffer.concat([silence(300), speak('hey jarvis'), silence(400), speak(SPOKEN), silence(300)])));
  sh('paplay', ['-d', 'vmic_sink', wav]);
  return { col, reconnectedAt };
}

async function retainedStatuses(url: string, sat: string): Promise<{ hub: Record<string, unknown>; sat: Record<string, unknown> }> {
  const c = await Collector.create(url, ['voice/hub/status', `voice/satellite/${sat}/status`]);
  try {
    const hub = jsonOf(await c.next((t) => t === 'voice/hub/status', 3000));
    const s = jsonOf(await c.next((t) => t === `voice/satellite/${sat}/status`, 3000));
    return { hub, sat: s };
  } finally {
    await c.end();
  }
}

test('external Mosquitto restarted: reconnect, a session within 10 s, retained statuses right', async (t) => {
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  let broker = mosquitto(port);
  await waitPort(port);
  const hub = runNode('hub/main.js', ['--mqtt-url', url, '--stt-workers', '1', '--reply-enabled', 'false']);
  let sat: Proc | undefined;
  try {
    await hub.waitLog((o) => o.msg === 'hub ready');
    sat = satellite(url, 'rb-mosq');
    await sat.waitLog((o) => o.msg === 'satellite listening');
    await new Promise((r) => setTimeout(r, 1000));
    broker.kill('SIGKILL');
    await withTimeout(new Promise((r) => broker.once('exit', r)), 60000, 'broker to exit');
    await new Promise((r) => setTimeout(r, 1500));
    broker = mosquitto(port); // a new broker: no sessions, no retained messages
    await waitPort(port);
    const backAt = Date.now();
    const { col, reconnectedAt } = await speakAfterReconnect(url, 'rb-mosq');
    const fin = await col.next((tp) => tp === 'voice/satellite/rb-mosq/transcript', 15000);
    await col.end();
    const text = String(jsonOf(fin).text);
    t.diagnostic(`satellite back ${reconnectedAt - backAt} ms after Mosquitto; transcript "${text}" ${fin.at - backAt} ms after Mosquitto was back`);
    assert.ok(fin.at - backAt <= 10000);
    assert.ok(wer(SPOKEN, text).rate <= 0.35, text);
    const st = await retainedStatuses(url, 'rb-mosq');
    assert.equal(st.hub.state, 'online');
    assert.equal(st.sat.state, 'online');
    assert.equal(st.sat.room, 'hall');
  } finally {
    await sat?.stop();
    await hub.stop();
    broker.kill('SIGTERM');
  }
});

test('hub with embedded broker restarted: the satellite reconnects, a session within 10 s, retained statuses right', async (t) => {
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  const args = ['--broker-port', String(port), '--broker-host', '127.0.0.1', '--stt-workers', '1', '--reply-enabled', 'false'];
  let hub = runNode('hub/main.js', args);
  let sat: Proc | undefined;
  try {
    await hub.waitLog((o) => o.msg === 'hub ready');
    sat = satellite(url, 'rb-hub');
    await sat.waitLog((o) => o.msg === 'satellite listening');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await hub.stop(), 0, 'graceful stop');
    await new Promise((r) => setTimeout(r, 1000));
    hub = runNode('hub/main.js', args);
    await hub.waitLog((o) => o.msg === 'hub ready');
    const backAt = Date.now();
    const { col, reconnectedAt } = await speakAfterReconnect(url, 'rb-hub');
    const fin = await col.next((tp) => tp === 'voice/satellite/rb-hub/transcript', 15000);
    await col.end();
    t.diagnostic(`satellite back ${reconnectedAt - backAt} ms after the hub; transcript "${String(jsonOf(fin).text)}" ${fin.at - backAt} ms after the hub was back`);
    assert.ok(fin.at - backAt <= 10000);
    const st = await retainedStatuses(url, 'rb-hub');
    assert.equal(st.hub.state, 'online');
    assert.equal(st.sat.state, 'online', 'the satellite re-announced itself to the new broker');
  } finally {
    await sat?.stop();
    await hub.stop();
  }
});
