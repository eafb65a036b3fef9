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

test('topic builders honour the configured root, and parseTopic inverts every one of them', () => {
  const t = topics('house/voice');
  assert.equal(t.transcript('kitchen'), 'house/voice/satellite/kitchen/transcript');
  const kinds = new Set<string>();
  const builders = Object.entries(t).filter((e): e is [string, (...a: string[]) => string] => typeof e[1] === 'function');
  for (const [name, fn] of builders) {
    const args = fn.length === 0 ? [] : fn.length === 1 ? [name === 'announceRoom' ? 'hall' : 'kitchen'] : ['kitchen', 's1'];
    const topic = fn(...args);
    const p = parseTopic('house/voice', topic);
    assert.ok(p && p.kind !== 'invalid', `${name}: ${topic} -> ${JSON.stringify(p)}`);
    kinds.add(p.kind);
    if (fn.length === 2) assert.deepEqual(p, { kind: p.kind, satellite: 'kitchen', sessionId: 's1' }, name);
    else if (name === 'announceRoom') assert.deepEqual(p, { kind: 'announceRoom', room: 'hall' });
    else if (fn.length === 1) assert.deepEqual(p, { kind: p.kind, satellite: 'kitchen' }, name);
  }
  // Each builder maps to its own kind: no two topics are confused.
  assert.equal(kinds.size, builders.length);
  assert.deepEqual(parseTopic('house/voice', t.audio('kitchen', 's1')), { kind: 'audio', satellite: 'kitchen', sessionId: 's1' });
  assert.deepEqual(parseTopic('house/voice', t.announceRoom('hall')), { kind: 'announceRoom', room: 'hall' });
  assert.equal(parseTopic('house/voice', 'other/satellite/kitchen/wake'), null);
});

test('topics under the root that the protocol does not define parse as invalid, naming the satellite when its id is valid', () => {
  const inv = (topic: string) => {
    const p = parseTopic('voice', topic);
    assert.ok(p && p.kind === 'invalid', `${topic} -> ${JSON.stringify(p)}`);
    return p;
  };
  assert.equal(inv('voice/satellite/kitchen/audio/s1/bogus').satellite, 'kitchen');
  assert.match(inv('voice/satellite/kitchen/audio/bad$id/start').why, /invalid session id/);
  assert.equal(inv('voice/satellite/kitchen/audio/bad$id').satellite, 'kitchen');
  assert.equal(inv('voice/satellite/kitchen/tts/a.b/stop').satellite, 'kitchen');
  assert.equal(inv('voice/satellite/kitchen/wake/extra').satellite, 'kitchen');
  assert.equal(inv('voice/satellite/bad$sat/wake').satellite, undefined);
  assert.match(inv('voice/satellite/bad$sat/wake').why, /invalid satellite id/);
  assert.equal(inv('voice/room//announce').satellite, undefined);
  assert.equal(inv('voice/nothing').satellite, undefined);
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
  const format = { encoding: 's16le', rate: 16000, channels: 1 };
  bad(() => validateAudioStart('t', { sessionId: 'a', format, wakeMs: -5, time: 'now' }), /"wakeMs" must be >= 0/);
  bad(() => validateAudioStart('t', { sessionId: 'a', format, wakeMs: 'late', time: 'now' }), /"wakeMs" must be a finite number/);
  bad(() => validateAudioStop('t', { sessionId: 'a', reason: 'silence', wakeEndMs: -1, time: 'now' }), /"wakeEndMs" must be >= 0/);
  assert.equal(validateAudioStart('t', { sessionId: 'a', format, preRollMs: 150, wakeMs: 150, time: 'now' }).wakeMs, 150);
  assert.equal(validateAudioStart('t', { sessionId: 'a', format, time: 'now' }).wakeMs, undefined);
  bad(() => validateCommand('t', { command: 'dance' }), /command/);
  assert.deepEqual(validateCommand('t', { command: 'stop', sessionId: 'abc' }), { command: 'stop', sessionId: 'abc' });
});

test('wake levels and openedBy, and end reason arbitration-lost: accepted when well formed, VOICE_BAD_PAYLOAD otherwise', () => {
  const t = 'voice/satellite/k/wake';
  const base = { sessionId: 's1', wakeWord: 'hey_jarvis', score: 0.8, time: 'now' };
  const w = validateWake(t, { ...base, openedBy: 'wake', energyDb: -14.6, noiseDb: -57.1, snrDb: 42.5, calibrationDb: -3 });
  assert.deepEqual([w.openedBy, w.energyDb, w.noiseDb, w.snrDb, w.calibrationDb], ['wake', -14.6, -57.1, 42.5, -3]);
  assert.equal(validateWake(t, base).openedBy, undefined);
  for (const bad of [{ openedBy: 'automation' }, { snrDb: '40' }, { energyDb: null }, { calibrationDb: Number.NaN }]) {
    assert.throws(() => validateWake(t, { ...base, ...bad }), (e: Error & { code?: string }) => e.code === 'VOICE_BAD_PAYLOAD', JSON.stringify(bad));
  }
  const c = 'voice/satellite/k/command';
  assert.deepEqual(validateCommand(c, { command: 'end', sessionId: 's1', reason: 'arbitration-lost' }), { command: 'end', sessionId: 's1', reason: 'arbitration-lost' });
  assert.throws(() => validateCommand(c, { command: 'stop', reason: 'arbitration-lost' }), (e: Error & { code?: string }) => e.code === 'VOICE_BAD_PAYLOAD');
  assert.throws(() => validateCommand(c, { command: 'end', sessionId: 's1', reason: 'lost' }), (e: Error & { code?: string }) => e.code === 'VOICE_BAD_PAYLOAD');
});

test('the threshold command: a number between 0 and 1 (exclusive), only on it; anything else is VOICE_BAD_PAYLOAD', () => {
  const c = 'voice/satellite/k/command';
  assert.deepEqual(validateCommand(c, { command: 'threshold', threshold: 0.7 }), { command: 'threshold', threshold: 0.7 });
  for (const threshold of [undefined, 0, 1, -0.2, 1.5, '0.7', null, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(
      () => validateCommand(c, { command: 'threshold', threshold }),
      (e: Error & { code?: string }) => e.code === 'VOICE_BAD_PAYLOAD' && /"threshold" must be a number between 0 and 1 \(exclusive\)/.test(e.message),
      String(threshold),
    );
  }
  assert.throws(() => validateCommand(c, { command: 'volume', volume: 50, threshold: 0.5 }), /"threshold" may only be given on a "threshold" command/);
  assert.throws(() => validateCommand(c, { command: 'threshold', threshold: 0.5, volume: 50 }), /"volume" may only be given on a "volume" command/);
});
