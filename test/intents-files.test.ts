/**
 * The user's intent files (intents.dir) with mistakes: loadIntents lists every problem of every file, each with its
 * file and key (VOICE_INTENTS_INVALID), and the hub, started on that directory, exits 78 before it listens, with the
 * same list on stderr. A missing directory is no mistake: the built-in intents alone.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { isVoiceError } from '../common/errors';
import { commandModel, MAX_GRAMMAR_PHRASES, voskGrammar } from '../hub/intents/command-model';
import { sampleSentences } from '../hub/intents/arpa';
import { BUILTIN_INTENTS, loadIntents, userIntentFiles } from '../hub/intents/load';
import { Matcher } from '../hub/intents/match';
import { runNode, TMP } from './helpers';

const DIR = path.join(TMP, 'intents-mistakes');
fs.mkdirSync(DIR, { recursive: true });

// Bad YAML: the flow sequence of sentences is never closed (line 5).
const SYNTAX = path.join(DIR, 'a-syntax.yaml');
fs.writeFileSync(
  SYNTAX,
  `intents:
  Broken:
    data:
      - sentences: ["hello there"
        slots: { a: 1 }
`,
);

// Good YAML, six mistakes in it.
const MISTAKES = path.join(DIR, 'b-mistakes.yml');
fs.writeFileSync(
  MISTAKES,
  `lists:
  level:
    range: { from: 10, to: 1 }
  device:
    values:
      - in: kettle
        out: switch.kettle
      - in: toaster
        out: [switch, toaster]
expansion_rules:
  turn: "(turn | switch)"
intents:
  MakeTea:
    data:
      - sentences:
          - "<turn> on the {device}"
          - "make (tea"
          - "make tea in the {colour}"
          - "<brew> tea"
        slot: { drink: tea }
`,
);
// Not an intent file: ignored.
fs.writeFileSync(path.join(DIR, 'notes.txt'), 'intents: [not yaml at all');

/** The problems loadIntents reports for the built-in file and the user files of `dir`, as the hub loads them. */
function problemsOf(dir: string): { message: string; problems: string[] } {
  try {
    loadIntents([BUILTIN_INTENTS, ...userIntentFiles(dir)]);
  } catch (err) {
    assert.ok(isVoiceError(err), `a VoiceError, not ${String(err)}`);
    assert.equal(err.code, 'VOICE_INTENTS_INVALID');
    return { message: err.message, problems: (err.details as { problems: string[] }).problems };
  }
  assert.fail(`the intent files in ${dir} loaded, but they have mistakes`);
}

/** The one problem that starts with `prefix` (its file and key) and says `what`. */
function problem(problems: string[], prefix: string, what: RegExp): string {
  const hits = problems.filter((p) => p.startsWith(prefix));
  assert.equal(hits.length, 1, `one problem at ${prefix}; problems:\n${problems.join('\n')}`);
  assert.match(hits[0], what);
  return hits[0];
}

test('user intent files: *.yaml and *.yml in the directory, in name order', () => {
  assert.deepEqual(userIntentFiles(DIR), [SYNTAX, MISTAKES]);
});

test('loadIntents lists every mistake of every file, each with its file and key', () => {
  const { message, problems } = problemsOf(DIR);
  problem(problems, `${SYNTAX}: line 5: `, /Flow sequence|must be sufficiently indented|end with a \]/);
  problem(problems, `${MISTAKES}: intents.MakeTea.data[0]: `, /unknown key "slot" \(expected sentences, slots, area_from_room\)/);
  problem(problems, `${MISTAKES}: intents.MakeTea.data[0].sentences[1]: `, /cannot parse template "make \(tea" at column \d+/);
  problem(problems, `${MISTAKES}: intents.MakeTea.data[0].sentences[2]: `, /unknown list \{colour\}/);
  problem(problems, `${MISTAKES}: intents.MakeTea.data[0].sentences[3]: `, /unknown rule <brew>/);
  problem(problems, `${MISTAKES}: lists.level.range: `, /to \(1\) is below from \(10\)/);
  problem(problems, `${MISTAKES}: lists.device.values[1].out: `, /must be a string, number or boolean/);
  // Nothing else: the good sentence and the built-in file are fine, and notes.txt is not read.
  assert.equal(problems.length, 7, problems.join('\n'));
  assert.ok(!problems.some((p) => p.includes(BUILTIN_INTENTS) || p.includes('notes.txt')));
  assert.match(message, /intent files are invalid \(7 problems\)/);
  for (const p of problems) assert.ok(message.includes(`\n  - ${p}`), `the message lists "${p}"`);
});

test('each kind of mistake, alone in a file, is exactly one problem with its file and key', () => {
  const cases: [string, string, RegExp][] = [
    ['colour: red\n', 'file: ', /unknown key "colour"/],
    ['intents:\n  X:\n    data:\n      - sentences: ["a (b"]\n', 'intents.X.data[0].sentences[0]: ', /cannot parse template/],
    ['intents:\n  X:\n    data:\n      - sentences: ["a {nope}"]\n', 'intents.X.data[0].sentences[0]: ', /unknown list \{nope\}/],
    ['intents:\n  X:\n    data:\n      - sentences: ["a <nope>"]\n', 'intents.X.data[0].sentences[0]: ', /unknown rule <nope>/],
    ['lists:\n  n:\n    range: { from: 5, to: 4 }\n', 'lists.n.range: ', /below from/],
    ['lists:\n  n:\n    values:\n      - in: a\n        out: { x: 1 }\n', 'lists.n.values[0].out: ', /must be a string, number or boolean/],
    ['intents: [\n', 'line ', /./],
  ];
  cases.forEach(([yaml, key, what], i) => {
    const dir = path.join(TMP, `intents-one-${i}`);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'mine.yaml');
    fs.writeFileSync(file, yaml);
    const { problems } = problemsOf(dir);
    assert.equal(problems.length, 1, `${JSON.stringify(yaml)}: ${problems.join('\n')}`);
    problem(problems, `${file}: ${key}`, what);
  });
});

test('the hub exits 78 before it listens and lists every problem on stderr', async () => {
  const { problems } = problemsOf(DIR);
  const p = runNode('hub/main.js', ['--intents-dir', DIR, '--intents-enabled', 'true', '--broker-port', '0']);
  let stderr = '';
  p.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  assert.equal(await p.waitExit(20000), 78);
  assert.match(stderr, /VOICE_INTENTS_INVALID: intent files are invalid \(7 problems\)/);
  for (const line of problems) assert.ok(stderr.includes(`  - ${line}\n`), `stderr lists "${line}"; stderr:\n${stderr}`);
  const out = p.lines.join('\n');
  assert.doesNotMatch(out, /embedded MQTT broker listening/, 'nothing listened');
  assert.doesNotMatch(out, /hub ready/);
});

test('a missing intents.dir is no mistake: the built-in intents alone', async () => {
  const missing = path.join(TMP, 'no-such-intents-dir');
  assert.deepEqual(userIntentFiles(missing), []);
  assert.deepEqual(userIntentFiles(''), []);
  const set = loadIntents([BUILTIN_INTENTS, ...userIntentFiles(missing)]);
  assert.deepEqual(set.files, [BUILTIN_INTENTS]);
  assert.ok(set.intents.has('HassTurnOff'));
  assert.equal(new Matcher(set.graph, set.skipWords).match('what time is it', 1)?.intent, 'HassGetCurrentTime');
  // An empty file is none either.
  const empty = path.join(TMP, 'intents-empty');
  fs.mkdirSync(empty, { recursive: true });
  fs.writeFileSync(path.join(empty, 'empty.yaml'), '# nothing yet\n');
  assert.equal(loadIntents([BUILTIN_INTENTS, ...userIntentFiles(empty)]).intents.size, set.intents.size);

  // The hub starts on it and loads the built-in file only.
  const p = runNode('hub/main.js', ['--intents-dir', missing, '--intents-enabled', 'true', '--broker-port', '0', '--broker-host', '127.0.0.1']);
  try {
    const loaded = await p.waitLog((o) => o.msg === 'intents loaded', 20000);
    assert.deepEqual(loaded.files, [BUILTIN_INTENTS]);
    assert.equal(loaded.intents, set.intents.size);
  } finally {
    await p.stop();
  }
});

// Once a bug: the graph was compiled only when nothing else was wrong, so this problem came only after a restart.

test('a rule that refers to itself is listed with the other mistakes, not only once they are fixed', () => {
  const dir = path.join(TMP, 'intents-loop-and-more');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'mine.yaml');
  fs.writeFileSync(file, 'expansion_rules:\n  loop: "again <loop>"\nintents:\n  Loop:\n    data:\n      - sentences: ["do <loop>", "go to the {nowhere}"]\n');
  const { problems } = problemsOf(dir);
  problem(problems, `${file}: intents.Loop.data[0].sentences[1]: `, /unknown list \{nowhere\}/);
  problem(problems, `${file}: intents.Loop.data[0].sentences[0]: `, /rule <loop> refers to itself/);
});

test('the command model is made once per set of files: the same files reuse it, a changed file makes a new one and the old goes', () => {
  const dir = path.join(TMP, 'intents-model');
  const state = path.join(TMP, 'intents-model-state');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'home.yaml');
  fs.writeFileSync(file, 'lists:\n  name:\n    values:\n      - kettle\n');
  const load = () => loadIntents([BUILTIN_INTENTS, ...userIntentFiles(dir)]);
  const first = commandModel(load(), state);
  assert.equal(first.reused, false);
  assert.match(fs.readFileSync(first.lm, 'utf8'), /\bkettle\b/);
  const again = commandModel(load(), state);
  assert.equal(again.reused, true);
  assert.equal(again.lm, first.lm);
  fs.writeFileSync(file, 'lists:\n  name:\n    values:\n      - toaster\n');
  const changed = commandModel(load(), state);
  assert.equal(changed.reused, false);
  assert.notEqual(changed.lm, first.lm);
  assert.match(fs.readFileSync(changed.lm, 'utf8'), /\btoaster\b/);
  assert.ok(!fs.existsSync(first.lm), 'the old model is removed');
  assert.deepEqual(fs.readdirSync(path.join(state, 'intents')).sort(), [path.basename(changed.grammar), path.basename(changed.lm)].sort());
});

test('the command model\'s Vosk grammar: a JSON array of distinct phrases and "[unk]", beside the ARPA with the same name; reused and replaced with it', () => {
  const dir = path.join(TMP, 'intents-grammar');
  const state = path.join(TMP, 'intents-grammar-state');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'home.yaml');
  fs.writeFileSync(file, 'lists:\n  name:\n    values:\n      - kettle\n');
  const load = () => loadIntents([BUILTIN_INTENTS, ...userIntentFiles(dir)]);
  const first = commandModel(load(), state);
  assert.equal(first.grammar, first.lm.replace(/\.arpa$/, '.json'));
  const phrases = JSON.parse(fs.readFileSync(first.grammar, 'utf8')) as unknown;
  assert.ok(Array.isArray(phrases) && phrases.every((p) => typeof p === 'string' && p.trim() === p && p !== ''), 'strings, no empty ones');
  assert.equal(phrases.at(-1), '[unk]');
  assert.equal(new Set(phrases).size, phrases.length, 'no phrase twice');
  assert.ok(phrases.length <= MAX_GRAMMAR_PHRASES + 1);
  assert.ok(phrases.some((p) => / kettle\b/.test(p as string)), 'the list value is in a phrase');
  assert.ok(phrases.includes('what time is it'), 'a built-in template');
  // Reused when both files are there; a missing grammar (a model written before it existed) is made again.
  const mtime = fs.statSync(first.grammar).mtimeMs;
  const again = commandModel(load(), state);
  assert.equal(again.reused, true);
  assert.equal(again.grammar, first.grammar);
  assert.equal(fs.statSync(again.grammar).mtimeMs, mtime);
  fs.rmSync(first.grammar);
  const remade = commandModel(load(), state);
  assert.equal(remade.reused, false);
  assert.ok(fs.existsSync(remade.grammar));
  fs.writeFileSync(file, 'lists:\n  name:\n    values:\n      - toaster\n');
  const changed = commandModel(load(), state);
  assert.notEqual(changed.grammar, first.grammar);
  assert.ok(!fs.existsSync(first.grammar), 'the old grammar is removed');
  assert.ok((JSON.parse(fs.readFileSync(changed.grammar, 'utf8')) as string[]).some((p) => / toaster\b/.test(p)));
});

test('the Vosk grammar is bounded: past MAX_GRAMMAR_PHRASES fewer sentences are sampled per template, and every template keeps as many', () => {
  const set = loadIntents([BUILTIN_INTENTS]);
  const many = sampleSentences(set.graph, 60);
  // As if the templates said far more: the same sentences with a distinct tail each.
  const padded = Array.from({ length: MAX_GRAMMAR_PHRASES * 2 }, (_, i) => [...many[i % many.length], `x${i}`]);
  const phrases = JSON.parse(voskGrammar(set.graph, padded)) as string[];
  assert.ok(phrases.length <= MAX_GRAMMAR_PHRASES + 1, String(phrases.length));
  assert.equal(phrases.at(-1), '[unk]');
  assert.ok(!phrases.some((p) => / x\d+$/.test(p)), 'resampled, not cut');
  // Halved once (60 -> 30 per template: about 1,100 distinct for the built-in templates).
  assert.deepEqual(phrases, [...new Set(sampleSentences(set.graph, 30).map((s) => s.join(' ')))].concat('[unk]'));
});
