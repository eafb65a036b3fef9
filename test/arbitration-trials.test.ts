/**
 * Cross-room arbitration on real speech through real satellite processes:
 * one person says "hey jarvis" and a command; two or three satellites hear
 * it, the nearest at 0 dB and the others at -6 and -12 dB, each over its own
 * noise floor (levels 3 dB apart), each starting 0-150 ms after the first
 * (the nearest often last, so the earliest wake is often the wrong room).
 * Per utterance: exactly one final transcript and one reply, from the
 * satellite the hub picked; the losers are told end (arbitration-lost) and
 * publish no partial, transcript or reply; the pick is the nearest
 * satellite in at least 19 of 20 trials, for two and for three satellites.
 * Replies come from the Ollama test double and are spoken with flite.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Hub } from '../hub/controller';
import { ARBITRATION_COMMANDS, arbitrationTrial, random, type RoomMics, startRooms, type Trial } from './arbitration-helpers';
import { Collector, type Proc } from './helpers';
import { startHub } from './hub-helpers';
import { OllamaDouble, tokenize } from './ollama-double';

const IDS = ['arb-a', 'arb-b', 'arb-c'];
/** Each room's noise floor, dB below typical flite speech (-53.5 to -56.5 dBFS). */
const FLOORS = [40, 38.5, 41.5];
const TRIALS = 20;

let double: OllamaDouble;
let hub: Hub;
let col: Collector;
let rooms: { mics: RoomMics; sats: Proc[] };

before(async () => {
  double = await new OllamaDouble().start();
  double.behaviour = { kind: 'stream', tokens: tokenize('Done.'), delayMs: 5 };
  hub = await startHub(['--llm-host', double.url, '--arbitration-enabled', 'true', '--session-max-wakes-per-minute', '0']);
  col = await Collector.create(hub.brokerUrl, ['voice/satellite/+/#', 'voice/hub/arbitration']);
  rooms = await startRooms(hub.brokerUrl, IDS, FLOORS);
});
after(async () => {
  rooms?.mics.close();
  await Promise.all((rooms?.sats ?? []).map((s) => s.stop()));
  await col?.end();
  await hub?.stop();
  await double?.stop();
});

async function trial(n: number, i: number, rnd: () => number): Promise<Trial> {
  const intended = i % n;
  const others = [-6, -12];
  const gains = IDS.map((_, j) => (j >= n ? null : j === intended ? 0 : n === 2 ? others[Math.floor(i / n) % 2] : others[(j + i) % 2]));
  // Offsets 0-150 ms; in every other trial the nearest satellite hears it last.
  const offsets = IDS.map(() => Math.round(rnd() * 100));
  offsets[intended] = i % 2 === 0 ? 150 : Math.round(rnd() * 150);
  return arbitrationTrial(col, rooms.mics, IDS, { intended, gains, offsets, command: ARBITRATION_COMMANDS[i % ARBITRATION_COMMANDS.length], arbitrated: true, reply: true });
}

function report(t: { diagnostic: (s: string) => void }, trials: Trial[]): void {
  for (const [k, r] of trials.entries()) {
    const d = r.decision ?? {};
    const c = (d.candidates as { satellite: string; rankDb?: number; score: number; afterMs: number }[]).map((x) => `${x.satellite}@${x.afterMs}ms ${x.rankDb ?? '-'}dB ${x.score.toFixed(2)}`).join(', ');
    t.diagnostic(`trial ${k}: gains ${JSON.stringify(r.gains)} offsets ${JSON.stringify(r.offsets)} intended ${r.intended} winner ${r.winner} window ${String(d.windowMs)} ms ${String(d.closedBy)} [${c}]${r.problems.length ? ` PROBLEMS: ${r.problems.join('; ')}` : ''}${r.misheard ? ` MISHEARD: ${r.misheard}` : ''}`);
  }
}

for (const n of [2, 3]) {
  test(`${n} satellites hear each of ${TRIALS} utterances at 0/-6/-12 dB, 0-150 ms apart: one transcript and one reply per utterance, from the nearest satellite in at least 19 of ${TRIALS}`, async (t) => {
    const rnd = random(n * 1000 + 7);
    const sats0 = hub.registry.all().filter((s) => IDS.includes(s.id));
    const winsBefore = sats0.reduce((a, s) => a + s.arbitration.wins, 0);
    const lossesBefore = sats0.reduce((a, s) => a + s.arbitration.losses, 0);
    const trials: Trial[] = [];
    for (let i = 0; i < TRIALS; i++) trials.push(await trial(n, i, rnd));
    report(t, trials);
    // Every trial on its own: nothing pooled hides one that went wrong.
    for (const [k, r] of trials.entries()) assert.deepEqual(r.problems, [], `trial ${k}`);
    // The winner heard its command (no speech lost while it waited): each trial, but the recognizer may miss one.
    const misheard = trials.filter((r) => r.misheard);
    assert.ok(misheard.length <= 1, misheard.map((r) => r.misheard).join('; '));
    const right = trials.filter((r) => r.winner === r.intended).length;
    assert.ok(right >= TRIALS - 1, `the nearest satellite won ${right} of ${TRIALS}`);
    // Every satellite that heard the utterance woke and was weighed, in most trials (a quiet one may not fire).
    const full = trials.filter((r) => (r.decision?.candidates as unknown[]).length === n).length;
    assert.ok(full >= TRIALS - 2, `all ${n} satellites were candidates in ${full} of ${TRIALS} trials`);
    // The registry counts each satellite's wins and losses: in all, one win per trial and one loss per other candidate and late duplicate.
    const sats = hub.registry.all().filter((s) => IDS.includes(s.id));
    const wins = sats.reduce((a, s) => a + s.arbitration.wins, 0) - winsBefore;
    const losses = sats.reduce((a, s) => a + s.arbitration.losses, 0) - lossesBefore;
    assert.equal(wins, TRIALS);
    assert.equal(losses, trials.reduce((a, r) => a + (r.decision?.candidates as unknown[]).length - 1 + r.late, 0));
  });
}
