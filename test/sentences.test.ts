/** The streaming sentence splitter: first sentence out at once; abbreviations, numbers and decimals do not split. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asksQuestion, SentenceSplitter } from '../hub/reply/sentences';
import { tokenize } from './ollama-double';

function split(text: string, byTokens = true): string[] {
  const s = new SentenceSplitter();
  const out: string[] = [];
  for (const tok of byTokens ? tokenize(text) : [...text]) out.push(...s.push(tok));
  return [...out, ...s.flush()];
}

test('splits on . ! ? and hands out a sentence as soon as the next token shows it is complete', () => {
  const s = new SentenceSplitter();
  assert.deepEqual(s.push('Hello there'), []);
  assert.deepEqual(s.push('.'), [], 'a final period might be a decimal point or abbreviation: wait for the next character');
  assert.deepEqual(s.push(' How'), ['Hello there.']);
  assert.deepEqual(s.push(' are you?! I'), ['How are you?!']);
  assert.deepEqual(s.flush(), ['I']);
});

test('abbreviations, initials, numbers and decimals do not end sentences', () => {
  assert.deepEqual(split('Dr. Smith lives on Main St. near the park. It is 3.5 km away.'), ['Dr. Smith lives on Main St. near the park.', 'It is 3.5 km away.']);
  assert.deepEqual(split('It costs $1,299.99 today. Buy it e.g. at noon.'), ['It costs $1,299.99 today.', 'Buy it e.g. at noon.']);
  assert.deepEqual(split('J. R. R. Tolkien wrote it. Mr. and Mrs. Jones agree.'), ['J. R. R. Tolkien wrote it.', 'Mr. and Mrs. Jones agree.']);
  assert.deepEqual(split('The U.S. team won at 5 p.m. yesterday. Great!'), ['The U.S. team won at 5 p.m. yesterday.', 'Great!']);
  assert.deepEqual(split('Version 2.0.1 is out. See example.com for details.'), ['Version 2.0.1 is out.', 'See example.com for details.']);
});

test('character-by-character streaming gives the same sentences', () => {
  const text = 'It is 21.5 degrees. Dr. Who said "run!" Then he left... Really?';
  assert.deepEqual(split(text, false), split(text, true));
  assert.deepEqual(split(text, false), ['It is 21.5 degrees.', 'Dr. Who said "run!"', 'Then he left...', 'Really?']);
});

test('line breaks end sentences (lists from the LLM)', () => {
  assert.deepEqual(split('Two things:\n- milk\n- eggs'), ['Two things:', '- milk', '- eggs']);
});

test('questions are recognised for follow-up', () => {
  assert.equal(asksQuestion('Do you want more?'), true);
  assert.equal(asksQuestion('Shall I "start"?" '), true);
  assert.equal(asksQuestion('Done.'), false);
  assert.equal(asksQuestion('Is it? No.'), false);
});
