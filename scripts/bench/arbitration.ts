/**
 * Section 11: cross-room arbitration (issue 10). A hub process with its
 * default arbitration settings, replies off, and three real satellite
 * processes, each on a microphone of its own with its own noise floor
 * (test/arbitration-helpers.ts). One person speaks; two satellites hear it,
 * the nearer one louder by a given gain difference, 0-150 ms apart (the
 * nearer one last in half the trials), the third hears only its room.
 * Reported: how often the louder one won, per gain difference and with three
 * satellites at 0/-6/-12 dB; the spread of wake arrivals at the hub (what
 * the window's bound must cover); the window actually used and why it
 * closed; and the delay arbitration adds to the winner's first partial and
 * to its final transcript, against the same satellite alone with
 * arbitration off.
 */
import { ARBITRATION_COMMANDS, arbitrationTrial, random, startRooms, type Trial } from '../../test/arbitration-helpers';
import { Collector, startHubProcess } from '../../test/helpers';
import { hubSchema } from '../../config/hub';
import { f0, median, pctCell, QUICK, RUNS } from './common';

const IDS = ['bench-a', 'bench-b', 'bench-c'];
const FLOORS = [40, 38.5, 41.5];
/** arbitration.windowMs's default (config/hub.ts). */
const WINDOW_MS = hubSchema.arbitration.windowMs.default;

async function session(args: string[], run: (t: (o: Omit<Parameters<typeof arbitrationTrial>[3], 'command' | 'reply'>, i: number) => Promise<Trial>) => Promise<void>): Promise<void> {
  const hub = await startHubProcess(['--reply-enabled', 'false', '--session-max-wakes-per-minute', '0', ...args]);
  const col = await Collector.create(hub.url, ['voice/satellite/+/#', 'voice/hub/arbitration']);
  const rooms = await startRooms(hub.url, IDS, FLOORS);
  try {
    await run((o, i) => arbitrationTrial(col, rooms.mics, IDS, { ...o, command: ARBITRATION_COMMANDS[i % ARBITRATION_COMMANDS.length], reply: false }));
  } finally {
    rooms.mics.close();
    await Promise.all(rooms.sats.map((s) => s.stop()));
    await col.end();
    await hub.proc.stop();
  }
}

/** Two satellites (a, b) hear it, the intended one at 0 dB, the other `diff` dB lower; offsets as in the tests. */
function pair(i: number, diff: number, rnd: () => number): { intended: number; gains: (number | null)[]; offsets: number[] } {
  const intended = i % 2;
  const gains: (number | null)[] = [intended === 0 ? 0 : -diff, intended === 1 ? 0 : -diff, null];
  const offsets = [Math.round(rnd() * 100), Math.round(rnd() * 100), 0];
  offsets[intended] = i % 2 === 0 ? 150 : Math.round(rnd() * 150);
  return { intended, gains, offsets };
}

const spread = (t: Trial) => Math.max(...((t.decision?.candidates as { afterMs: number }[]) ?? []).map((c) => c.afterMs));

export async function benchArbitration(): Promise<string> {
  const runs = QUICK ? 3 : RUNS;
  const diffs = QUICK ? [6] : [1, 2, 3, 6, 12];
  const accuracy: string[] = [];
  const all: Trial[] = [];
  await session(['--arbitration-enabled', 'true'], async (trial) => {
    for (const diff of diffs) {
      console.log(`arbitration: 2 satellites, ${diff} dB apart...`);
      const rnd = random(diff * 31 + 5);
      const got: Trial[] = [];
      for (let i = 0; i < runs; i++) got.push(await trial({ ...pair(i, diff, rnd), arbitrated: true }, i));
      all.push(...got);
      const right = got.filter((t) => t.winner === t.intended).length;
      const full = got.filter((t) => (t.decision?.candidates as unknown[]).length === 2).length;
      const bad = got.filter((t) => t.problems.length > 0).length;
      accuracy.push(`| 2 | ${diff} dB | ${got.length} | ${full} | ${right} / ${got.length} (${f0((100 * right) / got.length)} %) | ${bad} |`);
    }
    console.log('arbitration: 3 satellites at 0/-6/-12 dB...');
    const rnd = random(77);
    const got: Trial[] = [];
    for (let i = 0; i < runs; i++) {
      const intended = i % 3;
      const gains = IDS.map((_, j) => (j === intended ? 0 : [-6, -12][(j + i) % 2]));
      const offsets = IDS.map(() => Math.round(rnd() * 100));
      offsets[intended] = i % 2 === 0 ? 150 : Math.round(rnd() * 150);
      got.push(await trial({ intended, gains, offsets, arbitrated: true }, i));
    }
    all.push(...got);
    const right = got.filter((t) => t.winner === t.intended).length;
    const full = got.filter((t) => (t.decision?.candidates as unknown[]).length === 3).length;
    accuracy.push(`| 3 | 0 / -6 / -12 dB | ${got.length} | ${full} | ${right} / ${got.length} (${f0((100 * right) / got.length)} %) | ${got.filter((t) => t.problems.length > 0).length} |`);
  });
  // The same satellite alone, arbitration off: what the winner's figures are compared with.
  console.log('arbitration: one satellite, arbitration off...');
  const alone: Trial[] = [];
  await session(['--arbitration-enabled', 'false'], async (trial) => {
    for (let i = 0; i < runs; i++) alone.push(await trial({ intended: i % 2, gains: i % 2 === 0 ? [0, null, null] : [null, 0, null], offsets: [0, 0, 0], arbitrated: false }, i));
  });

  const closed = new Map<string, number[]>();
  for (const t of all) {
    const k = String(t.decision?.closedBy);
    closed.set(k, [...(closed.get(k) ?? []), Number(t.decision?.windowMs)]);
  }
  const windowRows = [...closed.entries()].map(([k, w]) => `| ${k} | ${w.length} | ${f0(median(w))} | ${f0(Math.max(...w))} |`);
  const spreads = all.filter((t) => (t.decision?.candidates as unknown[]).length > 1).map(spread);
  const firstPartial = (ts: Trial[]) => ts.map((t) => (t.at.firstPartial ?? Number.NaN) - t.at.wake).filter(Number.isFinite);
  const stopToFinal = (ts: Trial[]) => ts.map((t) => t.at.final - (t.at.stop ?? Number.NaN)).filter(Number.isFinite);
  const problems = [...all, ...alone].flatMap((t) => [...t.problems, ...(t.misheard ? [t.misheard] : [])].map((p) => `${t.intended} (gains ${JSON.stringify(t.gains)}, offsets ${JSON.stringify(t.offsets)}): ${p}`));
  const fp = [firstPartial(all), firstPartial(alone)];
  const sf = [stopToFinal(all), stopToFinal(alone)];
  return `A hub process (default arbitration: \`arbitration.windowMs\` ${WINDOW_MS}, \`arbitration.tieDb\` 1; replies off) and three real satellite processes on this machine, each on a microphone the bench feeds at real-time pace (a FIFO) with its own pink noise floor, 40, 38.5 and 41.5 dB below flite speech (-55, -53.5, -56.5 dBFS). Per trial one person says "hey jarvis", a 300 ms pause and a command (four that the recognizer alone gets word for word, test/burst-harness.ts, cycled); the intended (nearest) satellite hears it at 0 dB, the other one at minus the gain difference (sox \`vol\`), each 0-150 ms after the first, the intended one last (150 ms) in every other trial, so the earliest wake is often the wrong room. With two satellites the third hears only its room; the hub learns after three decisions that it does not co-fire. All candidates: trials where every satellite that heard the speech woke. Problems: trials that broke the contract (not exactly one decision and one final, a loser, late duplicates included, that published anything or was not told \`end\` arbitration-lost, audio the hub did not decode); see test/arbitration-helpers.ts; they are listed below the tables with the transcripts that missed the command.

| satellites | gain difference | trials | all candidates | the nearest won | problems |
|---|---|---|---|---|---|
${accuracy.join('\n')}

Wake arrivals: the last candidate's wake reached the hub ${f0(median(spreads))} ms after the first (median), ${pctCell(spreads, 95, f0)} ms p95, ${f0(Math.max(...spreads))} ms at most (n = ${spreads.length} decisions with more than one candidate; speech offsets 0-150 ms). The spread is wider than the speech offsets because a quieter copy of the wake word reaches the detector's threshold one or more 80 ms frames later. The default bound, ${WINDOW_MS} ms, was set from this: a run with 400 ms saw a spread of 398 ms at most, so it leaves 100 ms for a loaded machine (Willow went from 200 to 400 ms because 200 ms double-woke). A wake later than the bound is a late duplicate and loses, however well it heard.

The window actually used, by why it closed:

| closed by | decisions | window ms median | max |
|---|---|---|---|
${windowRows.join('\n')}

What arbitration adds, against the same satellite alone with arbitration off (n = ${alone.length}): first partial after the wake ${f0(median(fp[0]))} ms median (${pctCell(fp[0], 95, f0)} p95) against ${f0(median(fp[1]))} ms alone; final transcript after the satellite's audio stop ${f0(median(sf[0]))} ms median (${pctCell(sf[0], 95, f0)} p95) against ${f0(median(sf[1]))} ms alone. The winner's audio is held during the window and decoded at once when it wins, so the delay shows in its first partial, and is gone by its final.

Problems: ${problems.length ? problems.map((p) => `\n- ${p}`).join('') : 'none.'}`;
}
