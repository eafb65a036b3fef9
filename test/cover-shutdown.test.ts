/**
 * Graceful stop while a session is just opening: SIGTERM to the hub process
 * right after a wake must still exit 0 (systemd then does not see a crash).

 * (The STT workers used to be terminated in the middle of ps_init, building
 * a spare decoder just after a session opened, and the hub aborted with
 * SIGABRT; the pool now asks them to exit between native calls.)
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { startHubProcess } from './helpers';
import { adminAuth } from './credentials';

test('SIGTERM right after a session opened: the hub still exits 0', async (t) => {
  const hub = await startHubProcess(['--stt-workers', '1', '--reply-enabled', 'false']);
  t.after(() => hub.proc.stop());
  const c = await mqtt.connectAsync(hub.url, adminAuth(hub.url));
  t.after(() => c.end(true));
  const sid = randomUUID();
  await c.publishAsync('voice/satellite/quick/wake', JSON.stringify({ sessionId: sid, wakeWord: 'hey_jarvis', score: 1, time: new Date().toISOString() }), { qos: 1 });
  await hub.proc.waitLog((o) => o.msg === 'session opened', 5000);
  hub.proc.child.kill('SIGTERM');
  const code = await Promise.race([hub.proc.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 12000))]);
  const fatal = hub.proc.lines.filter((l) => /FATAL|napi_throw/.test(l));
  assert.deepEqual(fatal, [], 'no fatal native error');
  assert.equal(hub.proc.child.signalCode, null, `killed by ${String(hub.proc.child.signalCode)}`);
  assert.equal(code, 0);
});
