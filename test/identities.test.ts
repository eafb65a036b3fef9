/** The identity store (hub/security/identities.ts): hashed secrets, checks that race with the CLI's writes, the hub's own secret, `list`, and broker.allowAnonymous. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { runAdmin } from '../hub/cli';
import { HUB_IDENTITY, HUB_SECRET_FILE, IdentityStore, newSecret } from '../hub/security/identities';
import { TMP } from './helpers';
import { startHub } from './hub-helpers';

test('a secret checked while the CLI adds other identities (the store is read again meanwhile) is still accepted; a removed one is not', async () => {
  const dir = path.join(TMP, 'identities-race');
  const hub = new IdentityStore(dir).open();
  const cli = new IdentityStore(dir).open();
  const secret = cli.add('kitchen', 'satellite', { room: 'kitchen' });
  // The broker starts checking the kitchen's secret (scrypt runs off the thread)...
  const checking = hub.verify('kitchen', secret);
  // ...while an admin adds another satellite, and the broker reads the store again for another connection.
  cli.add('bedroom', 'satellite');
  hub.refresh();
  const who = await checking;
  assert.equal(who?.name, 'kitchen');
  assert.equal(who?.room, 'kitchen');
  assert.equal(await hub.verify('kitchen', 'wrong'), undefined);
  // Removed while being checked: refused.
  const again = hub.verify('kitchen', secret);
  cli.remove('kitchen');
  assert.equal(await again, undefined);
  // Only hashes on disk.
  assert.equal(fs.readFileSync(path.join(dir, 'identities.json'), 'utf8').includes(secret), false);
});

test('secrets never start with "-" (a command line would read one as an option): 2,000 of them', () => {
  const made = Array.from({ length: 2000 }, () => newSecret());
  assert.deepEqual(made.filter((s) => !/^[A-Za-z0-9]/.test(s)), []);
  assert.equal(new Set(made).size, made.length);
  for (const s of made) assert.equal(Buffer.from(s, 'base64url').length, 32);
});

test("the hub's own secret is made at its first start (hub.secret, mode 0600) and kept at the next; list shows each identity's role and room, never a hash", async () => {
  const dir = path.join(TMP, 'identities-first-start');
  const store = new IdentityStore(dir).open();
  assert.equal(fs.existsSync(path.join(dir, HUB_SECRET_FILE)), false);
  const first = await store.hubSecret();
  const file = path.join(dir, HUB_SECRET_FILE);
  assert.equal(fs.readFileSync(file, 'utf8').trim(), first);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.join(dir, 'identities.json')).mode & 0o777, 0o600);
  assert.equal(await new IdentityStore(dir).open().hubSecret(), first, 'the next start keeps it');
  store.add('kitchen', 'satellite', { room: 'kitchen' });
  store.add('ha', 'automation', { readAudio: true });
  const out: string[] = [];
  assert.equal(runAdmin(['identities', 'list', '--hub-state-dir', dir], (s) => out.push(s)), 0);
  const rows = out.map((l) => l.split(/\s+/).filter(Boolean));
  assert.deepEqual(rows.find((r) => r[1] === 'kitchen'), ['satellite', 'kitchen', 'room', 'kitchen']);
  assert.deepEqual(rows.find((r) => r[1] === 'ha'), ['automation', 'ha', 'reads', 'audio']);
  assert.deepEqual(rows.find((r) => r[1] === HUB_IDENTITY)?.[0], 'hub');
  assert.equal(out.join('\n').includes('scrypt'), false);
  const sats: string[] = [];
  runAdmin(['satellite', 'list', '--hub-state-dir', dir], (s) => sats.push(s));
  assert.deepEqual(sats.map((l) => l.split(/\s+/)[1]), ['kitchen'], 'satellite list lists satellites only');
});

test('broker.allowAnonymous: the hub warns at start, and a client without credentials gets in (with every right, as before identities)', async (t) => {
  const logs: Record<string, unknown>[] = [];
  const hub = await startHub(['--reply-enabled', 'false', '--broker-allow-anonymous', 'true'], { logs });
  t.after(() => hub.stop());
  assert.ok(logs.some((l) => l.level === 40 && l.setting === 'broker.allowAnonymous'), 'a warning at start');
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.broker?.port}`, { reconnectPeriod: 0 });
  t.after(() => c.endAsync());
  const granted = await c.subscribeAsync('voice/#');
  assert.equal(granted[0].qos, 0);
  const off = await startHub(['--reply-enabled', 'false'], { logs: [] });
  t.after(() => off.stop());
  await assert.rejects(mqtt.connectAsync(`mqtt://127.0.0.1:${off.broker?.port}`, { reconnectPeriod: 0 }), (e: Error & { code?: number }) => e.code === 5);
});
