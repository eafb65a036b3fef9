/** The topic contract: code and docs/protocol.md agree; parsing and validation. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { VoiceError } from '../common/errors';
import { parseJson, parseTopic, topics, validateAudioStart, validateAudioStop, validateCommand, validateWake } from '../common/protocol';
import { ROOT } from './helpers';

const doc = fs.readFileSync(path.join(ROOT, 'docs', 'protocol.md'), 'utf8');

test('every topic the code builds is in docs/protocol.md, and nothing else is', () => {
  const t = topics('voice');
  // Every builder, called with placeholders: (), (<id>) or (<room>), (<id>, <sessionId>).
  const built = new Set(
    Object.entries(t)
      .filter((e): e is [string, (...a: string[]) => string] => typeof e[1] === 'function')
      .map(([name, fn]) => (fn.length === 0 ? fn() : fn.length === 1 ? fn(name === 'announceRoom' ? '<room>' : '<id>') : fn('<id>', '<sessionId>'))),
  );
  assert.ok(built.size >= 20);
  const documented = new Set([...doc.matchAll(/^\| `(voice\/[^`]+)` \|/gm)].map((m) => m[1]));
  assert.deepEqual([...documented].sort(), [...built].sort());
  assert.match(doc, /# MQTT protocol, version 1/);
});

test('topic builders honour the configured root, and parseTopic inverts them', () => {
  const t = topics('house/voice');
  assert.equal(t.transcript('kitchen'), 'house/voice/satellite/kitchen/transcript');
  assert.deepEqual(parseTopic('house/voice', t.audio('kitchen', 's1')), { kind: 'audio', satellite: 'kitchen', sessionId: 's1' });
  assert.deepEqual(parseTopic('house/voice', t.audioStop('kitchen', 's1')), { kind: 'audioStop', satellite: 'kitchen', sessionId: 's1' });
  assert.deepEqual(parseTopic('house/voice', t.wake('kitchen')), { kind: 'wake', satellite: 'kitchen' });
  assert.equal(parseTopic('house/voice', 'house/voice/satellite/kitchen/audio/s1/bogus'), null);
  assert.equal(parseTopic('house/voice', 'other/satellite/kitchen/wake'), null);
});

test('validators reject bad payloads with VOICE_BAD_PAYLOAD', () => {
  const bad = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof VoiceError && e.code === 'VOICE_BAD_PAYLOAD' && re.test(e.message));
  bad(() => parseJson('t', Buffer.from('{')), /not valid JSON/);
  bad(() => parseJson('t', Buffer.from('"a"')), /JSON object/);
  bad(() => parseJson('t', Buffer.alloc(70000, 32)), /exceeds/);
  bad(() => validateWake('t', { sessionId: '../x', wakeWord: 'w', score: 1, time: 'now' }), /sessionId/);
  bad(() => validateWake('t', { sessionId: 'a', wakeWord: 'w', score: 'high', time: 'now' }), /score/);
  bad(() => validateAudioStart('t', { sessionId: 'a', time: 'now' }), /format/);
  bad(() => validateAudioStop('t', { sessionId: 'a', reason: 'bored', time: 'now' }), /reason/);
  bad(() => validateCommand('t', { command: 'dance' }), /command/);
  assert.deepEqual(validateCommand('t', { command: 'stop', sessionId: 'abc' }), { command: 'stop', sessionId: 'abc' });
});
