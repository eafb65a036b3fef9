/**
 * The LLM's tools and the claim check, without a hub:
 * - tools generated from the built-in intents and the test's user file: a
 *   values list is an enum of its values, a range an integer with its
 *   bounds, a wildcard a string; nevermind is no tool;
 * - the claim check: sentences that claim an action are refused until a
 *   tool call of the reply was done, and everything after a refusal too.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { BUILTIN_INTENTS, loadIntents } from '../hub/intents/load';
import { ClaimCheck, claimsAction } from '../hub/llm/claim-check';
import { generateTools } from '../hub/llm/tools';
import { TMP } from './helpers';
import { userIntentsDir } from './intents-corpus';

const set = loadIntents([BUILTIN_INTENTS, path.join(userIntentsDir(TMP), 'home.yaml')]);
const tools = generateTools(set);
const tool = (name: string) => tools.find((t) => t.function.name === name)?.function;

test('tools: HassTurnOn names the name list as an enum, HassLightSet brightness is an integer 0-100', () => {
  const names = set.lists.get('name');
  assert.ok(names?.kind === 'values');
  const on = tool('HassTurnOn');
  assert.ok(on, 'HassTurnOn is a tool');
  assert.deepEqual(on.parameters.properties.name, { type: 'string', enum: names.values.map((v) => v.out) });
  assert.deepEqual(on.parameters.properties.name.enum, ['light.kitchen', 'light.desk', 'media_player.tv', 'lock.front', 'lock.back', 'cover.garage']);
  assert.deepEqual(on.parameters.properties.area?.enum, ['kitchen', 'living_room', 'bedroom', 'office', 'hallway']);
  assert.match(on.description, /^Turn on, as in: "turn on kitchen light"$/);
  const brightness = tool('HassLightSet')?.parameters.properties.brightness;
  assert.deepEqual(brightness, { type: 'integer', minimum: 0, maximum: 100 });
  assert.deepEqual(tool('HassStartTimer')?.parameters.properties.minutes, { type: 'integer', minimum: 1, maximum: 120 });
  // A timer's name is a list or free text: a string of any value.
  assert.deepEqual(tool('HassCancelTimer')?.parameters.properties.name, { type: 'string' });
  assert.deepEqual(tool('HassShoppingListAddItem')?.parameters.properties.item, { type: 'string' });
});

test('tools: one per intent, nevermind aside; time and date have no parameters', () => {
  assert.equal(tool('HassNevermind'), undefined);
  assert.equal(tools.length, set.intents.size - 1);
  assert.deepEqual(tool('HassGetCurrentTime')?.parameters.properties, {});
  assert.ok(tool('HassGetCurrentDate'));
  for (const t of tools) assert.equal(t.type, 'function');
});

test('tools: an empty name list gives no name parameter (nothing could be named)', () => {
  const bare = generateTools(loadIntents([BUILTIN_INTENTS]));
  const on = bare.find((t) => t.function.name === 'HassTurnOn')?.function;
  assert.equal(on?.parameters.properties.name, undefined);
  assert.ok(on?.parameters.properties.area);
});

test('claim check: what claims an action', () => {
  for (const s of ["I've turned off the kitchen light.", 'Done, the light is off.', 'The light is now on.', 'I have set the heating to 20 degrees.', 'The front door has been locked.', 'I set a timer for five minutes.', 'Timer set for five minutes.', 'The lights are off.', 'I unlocked the back door.', 'Okay, done!', 'I’ve switched it on.'])
    assert.ok(claimsAction(s), s);
  for (const s of ['Paris is the capital of France.', 'The museum is closed on Mondays.', "Sorry, I couldn't turn off the light.", 'The light is not off.', "I haven't turned anything on.", 'Shall I turn on the light?', 'A timer helps you cook pasta.'])
    assert.ok(!claimsAction(s), s);
});

test('claim check: refused until a tool call was done; everything after a refusal too', () => {
  const unbacked = new ClaimCheck();
  assert.equal(unbacked.pass('Sure.'), true);
  assert.equal(unbacked.pass("I've turned off the light."), false);
  assert.equal(unbacked.pass('Anything else?'), false);
  assert.equal(unbacked.refused, "I've turned off the light. Anything else?");
  const backed = new ClaimCheck();
  backed.done();
  assert.equal(backed.pass("I've turned off the light."), true);
  assert.equal(backed.refused, undefined);
});
