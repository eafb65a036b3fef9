/**
 * Reliability: a satellite process killed mid-session (its last will marks
 * it offline, the hub ends the session and frees the recognizer); a soak of
 * 300 back-to-back sessions (heap and buffers after the last within 10 % of
 * after the 20th, RSS within 25 %; no recognizer, worker, session or timer
 * leaked).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { wavFromPcm } from '../common/wav';
import type { Hub } from '../hub/controller';
import { Collector, jsonOf, runNode, silence, speak, startHubProcess, TMP, type Proc } from './helpers';
import { startHub } from './hub-helpers';

test('a satellite process killed mid-session: last will offline, session ended, recognizer freed', async () => {
  const hub: { proc: Proc; url: string } = await startHubProcess(['--session-timeout-ms', '2000', '--reply-enabled', 'false']);
  const col = await Collector.create(hub.url, ['voice/satellite/doomed/#']);
  // Any live audio will do (no sound card needed): a minute of silence at real-time pace.
  const wav = path.join(TMP, 'doomed.wav');
  fs.writeFileSync(wav, wavFromPcm(silence(60000)));
  const sat = runNode('satellite/main.js', ['--mqtt-url', hub.url, '--satellite-id', 'doomed', '--satellite-room', 'attic', '--audio-source', 'wav', '--audio-wav', wav]);
  try {
    await sat.waitLog((o) => o.msg === 'satellite listening');
    // 'satellite listening' can precede its command subscription on a busy machine: repeat listen until it wakes.
    let wakeMsg: Awaited<ReturnType<Collector['next']>> | undefined;
    for (let i = 0; i < 5 && !wakeMsg; i++) {
      await col.client.publishAsync('voice/satellite/doomed/command', JSON.stringify({ command: 'listen' }), { qos: 1 });
      wakeMsg = await col.next((t) => t === 'voice/satellite/doomed/wake', 3000).catch(() => undefined);
    }
    assert.ok(wakeMsg, 'the satellite opened a session on listen');
    const wake = jsonOf(wakeMsg);
    await col.next((t) => t.startsWith(`voice/satellite/doomed/audio/${String(wake.sessionId)}`), 5000);
    sat.child.kill('SIGKILL');
    const off = await col.next((t, p) => t === 'voice/satellite/doomed/status' && jsonOf({ payload: p }).state === 'offline', 30000);
    assert.ok(off);
    const fin = jsonOf(await col.next((t, p) => t === 'voice/satellite/doomed/transcript' && jsonOf({ payload: p }).sessionId === wake.sessionId, 10000));
    assert.equal(fin.reason, 'offline', 'ended by the last will, not the idle timeout');
    const line = await hub.proc.waitLog((o) => o.msg === 'final transcript' && o.sessionId === wake.sessionId, 5000);
    assert.equal(line.reason, 'offline');
  } finally {
    sat.child.kill('SIGKILL');
    await sat.waitExit(10000);
    await col.end();
    await hub.proc.stop();
  }
});

function rssMb(): number {
  return process.memoryUsage().rss / 1e6;
}

/** What JavaScript holds after a collection, MB: the V8 heap plus memory outside it (Buffers). A leak of sessions, messages or audio shows here. */
function heldMb(): number {
  const m = process.memoryUsage();
  return (m.heapUsed + m.external) / 1e6;
}

/** The STT process's RSS (its decoders live there), MB. */
function sttRssMb(pid: number | undefined): number {
  assert.ok(pid, 'the STT process runs');
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m);
  return (Number(m[1]) * 1024) / 1e6;
}

test('soak: 300 back-to-back sessions without growth or leaks', async (t) => {
  // Four rooms taking turns as fast as the hub decodes: ~40 sessions a minute each, over session.maxWakesPerMinute, which a person cannot reach.
  const hub: Hub = await startHub(['--reply-enabled', 'false', '--session-partial-interval-ms', '100', '--session-max-wakes-per-minute', '0']);
  const workers = hub.stt?.workers;
  const col = await Collector.create(hub.brokerUrl, ['voice/satellite/+/transcript']);
  const phrases = ['turn off the kitchen light', 'what is the weather like today', 'set a timer for ten minutes'].map((p) => Buffer.concat([speak(p), silence(200)]));
  const handlesBefore = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
  let rss20 = 0;
  let stt20 = 0;
  let held20 = 0;
  let words = 0;
  try {
    for (let i = 0; i < 300; i++) {
      const sat = `soak${i % 4}`; // four rooms taking turns
      const sid = `soak-${i}`;
      const T = `voice/satellite/${sat}`;
      const time = new Date().toISOString();
      await col.client.publishAsync(`${T}/wake`, JSON.stringify({ sessionId: sid, wakeWord: 'hey_jarvis', score: 0.9, time }), { qos: 1 });
      const pcm = phrases[i % phrases.length] as Buffer;
      for (let off = 0; off < pcm.length; off += 6400) await col.client.publishAsync(`${T}/audio/${sid}`, pcm.subarray(off, off + 6400), { qos: 0 });
      await col.client.publishAsync(`${T}/audio/${sid}/stop`, JSON.stringify({ sessionId: sid, reason: 'silence', time }), { qos: 1 });
      const fin = jsonOf(await col.next((tp, p) => tp === `${T}/transcript` && jsonOf({ payload: p }).sessionId === sid, 20000));
      if (String(fin.text).split(' ').length >= 3) words++;
      if (i % 50 === 0) col.messages.splice(0, col.messages.length); // the collector must not be what grows
      if (i === 19) {
        global.gc?.();
        rss20 = rssMb();
        held20 = heldMb();
        stt20 = sttRssMb(hub.stt?.pid);
      }
    }
    global.gc?.();
    await new Promise((r) => setTimeout(r, 500));
    const rss300 = rssMb();
    const growth = (rss300 - rss20) / rss20;
    const held300 = heldMb();
    const heldGrowth = (held300 - held20) / held20;
    const stt300 = sttRssMb(hub.stt?.pid);
    const sttGrowth = (stt300 - stt20) / stt20;
    t.diagnostic(`RSS after session 20: ${rss20.toFixed(0)} MB, after 300: ${rss300.toFixed(0)} MB (${(growth * 100).toFixed(1)} %); STT process ${stt20.toFixed(0)} -> ${stt300.toFixed(0)} MB (${(sttGrowth * 100).toFixed(1)} %); ${words}/300 transcripts had 3+ words; heap and buffers ${held20.toFixed(1)} -> ${held300.toFixed(1)} MB (${(heldGrowth * 100).toFixed(1)} %)`);
    // What JavaScript holds is the leak's measure (10 %). The process's RSS also counts the allocator's free lists,
    // which a busy machine grows and shrinks without a leak (seen: -5 % here, +11 % under CI): a coarser bound.
    assert.ok(heldGrowth <= 0.1, `heap and buffers grew ${(heldGrowth * 100).toFixed(1)} %`);
    assert.ok(growth <= 0.25, `RSS grew ${(growth * 100).toFixed(1)} %`);
    assert.ok(sttGrowth <= 0.1, `the STT process's RSS grew ${(sttGrowth * 100).toFixed(1)} %`);
    assert.equal(hub.stt?.restarts, 0, 'the STT process never died');
    assert.ok(words >= 290, 'sessions kept being transcribed');
    assert.equal(hub.sessions?.liveCount, 0, 'no live session left');
    assert.equal(hub.stt?.liveSessions, 0, 'no recognizer left');
    assert.equal(hub.stt?.workers, workers, 'no worker lost or added');
    assert.equal(hub.sessions?.stats.opened, 300);
    assert.equal(hub.sessions?.stats.finalized, 300);
    assert.equal(hub.sessions?.stats.errors, 0);
    const handlesAfter = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
    assert.ok(handlesAfter <= handlesBefore + 2, `active handles (timers, sockets) ${handlesBefore} -> ${handlesAfter}`);
  } finally {
    await col.end();
    await hub.stop();
  }
});
