/** Docs say what the code does: generated config and error references are current; every code used is listed. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { describeSchema } from '../common/config';
import { ERROR_CODES, isSetupCode } from '../common/errors';
import { hubSchema } from '../config/hub';
import { satelliteSchema } from '../config/satellite';
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

/** The hub status's nested fields as docs/protocol.md lists them (`stt: {engine, workers, restarts, fallback?}` -> stt.engine, ...). */
function hubStatusFields(): Set<string> {
  const protocol = fs.readFileSync(path.join(ROOT, 'docs', 'protocol.md'), 'utf8');
  const row = protocol.split('\n').find((l) => l.startsWith('| `voice/hub/status` |')) ?? '';
  const fields = new Set<string>();
  for (const m of row.matchAll(/(\w+): \{([^{}]*)\}/g)) for (const f of m[2].split(',')) fields.add(`${m[1]}.${f.trim().replace(/\?$/, '')}`);
  return fields;
}

test('every config key named in docs/errors.md exists in a schema (or is a hub status field docs/protocol.md lists)', () => {
  const keys = new Set([...describeSchema(hubSchema), ...describeSchema(satelliteSchema)].map((l) => l.key));
  const sections = new Set([...keys].map((k) => k.split('.')[0]));
  const status = hubStatusFields();
  assert.ok(status.has('tts.restarts') && status.has('stt.engine'), `hub status fields in docs/protocol.md: ${[...status].join(' ')}`);
  const text = fs.readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
  const named = [...text.matchAll(/\b([a-zA-Z]+(?:\.[a-zA-Z]+)+)\b/g)].map((m) => m[1]).filter((k) => sections.has(k.split('.')[0]) && !k.endsWith('.md')); // docs/intents.md is a file, not the key intents.md
  assert.ok(named.length >= 8, `found ${named.length} config keys`);
  assert.deepEqual(named.filter((k) => !keys.has(k) && !status.has(k)), []);
});

test('the exit status of each code comes from its setup flag', () => {
  const text = fs.readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
  for (const [code, info] of Object.entries(ERROR_CODES)) {
    assert.match(text, new RegExp(`\\| \`${code}\` \\| ${info.setup ? 78 : 1} \\|`));
    assert.equal(isSetupCode(code), info.setup);
  }
  assert.equal(isSetupCode('VOICE_CONFIG_INVALID'), true);
  assert.equal(isSetupCode('VOICE_STT_FAILED'), false);
});
