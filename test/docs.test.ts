/** Docs say what the code does: generated config and error references are current; every code used is listed. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ERROR_CODES } from '../common/errors';
import { configDoc, errorsDoc } from '../scripts/gen-docs';
import { ROOT } from './helpers';

test('docs/config.md is generated from the current schemas', () => {
  assert.equal(fs.readFileSync(path.join(ROOT, 'docs', 'config.md'), 'utf8'), configDoc(), 'run npm run docs');
});

test('docs/errors.md is generated from the current error table', () => {
  assert.equal(fs.readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8'), errorsDoc(), 'run npm run docs');
});

test('every VOICE_* code in the source is in the error table', () => {
  const used = new Set<string>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) for (const m of fs.readFileSync(p, 'utf8').matchAll(/'(VOICE_[A-Z_]+)'/g)) used.add(m[1]);
    }
  };
  for (const d of ['common', 'hub', 'satellite', 'config']) walk(path.join(ROOT, d));
  const missing = [...used].filter((c) => !(c in ERROR_CODES) && !/^VOICE_(HUB|SAT)(_|$)/.test(c));
  assert.deepEqual(missing, []);
  assert.ok(used.size >= 10);
});
