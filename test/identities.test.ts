/** The identity store (hub/security/identities.ts): hashed secrets, and checks that race with the CLI's writes. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { IdentityStore, newSecret } from '../hub/security/identities';
import { TMP } from './helpers';

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
