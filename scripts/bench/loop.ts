/**
 * Section 7: the hub's main event loop under load, as its own status reports it
 * (eventLoop in voice/hub/status, hub/event-loop.ts): idle, during STT bursts
 * (the concurrency section's load) and while long announcements are synthesized.
 */
import { f0, f2, hubProcess, median, QUICK, RUNS, connect, sleep, ROOT } from './common';
import * as path from 'node:path';
import type { MqttClient } from 'mqtt';
import { commandPcms, load } from './load';

/** The status's window (hub.eventLoopWindowS): each status covers the last 2-4 s; one comes every second. */
const WINDOW_S = 4;
const HUB_ARGS = ['--hub-status-interval-s', '1', '--hub-event-loop-window-s', String(WINDOW_S)];

interface Loop {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  windowS: number;
}

/** Records every hub status with the time it arrived. */
async function watchStatus(url: string): Promise<{ c: MqttClient; seen: { at: number; loop: Loop }[] }> {
  const c = await connect(url);
  const seen: { at: number; loop: Loop }[] = [];
  c.on('message', (_t, p) => {
    const o = JSON.parse(p.toString()) as { eventLoop?: Loop };
    if (o.eventLoop) seen.push({ at: Date.now(), loop: o.eventLoop });
  });
  await c.subscribeAsync('voice/hub/status', { qos: 1 });
  return { c, seen };
}

/** The statuses whose whole window lies in [from, to] (plus the one right after `to`); fewer than one: every status after `from`. */
function within(seen: { at: number; loop: Loop }[], from: number, to: number): { loops: Loop[]; partial: boolean } {
  const inside = seen.filter((s) => s.at >= from + WINDOW_S * 1000 && s.at <= to + 1100).map((s) => s.loop);
  if (inside.length > 0) return { loops: inside, partial: false };
  return { loops: seen.filter((s) => s.at >= from + 1000 && s.at <= to + 1100).map((s) => s.loop), partial: true };
}

function row(name: string, hub: string, r: { loops: Loop[]; partial: boolean }, seconds: number): string {
  const p99 = r.loops.map((l) => l.p99Ms);
  const note = r.partial ? ' (shorter than one window: windows overlap idle time)' : '';
  return `| ${name} | ${hub} | ${f0(seconds)} | ${r.loops.length}${note} | ${f2(median(r.loops.map((l) => l.p50Ms)))} | ${f2(median(p99))} | ${f2(Math.max(...p99))} | ${f2(Math.max(...r.loops.map((l) => l.maxMs)))} |`;
}

const SENTENCES = ['The kitchen light is now off.', 'It will be sunny and twenty degrees this afternoon.', 'Your timer for ten minutes has started.', 'Playing some music in the living room.', 'The front door is locked and the alarm is set.', 'Good night, sleep well.'];

/** Speaks long announcements one after another on a stand-in satellite for at least `seconds`; returns how many, when the last stream stops. */
async function announce(url: string, seconds: number, sentences: number): Promise<number> {
  const c = await connect(url);
  try {
    await c.publishAsync('voice/satellite/loopbench/status', JSON.stringify({ state: 'online', protocol: 1, room: 'bench', time: new Date().toISOString() }), { qos: 1, retain: true });
    await c.subscribeAsync('voice/satellite/loopbench/tts/+/stop', { qos: 0 });
    await sleep(300); // the registry sees the satellite online
    const text = Array.from({ length: sentences }, (_, i) => SENTENCES[i % SENTENCES.length]).join(' ');
    const until = Date.now() + seconds * 1000;
    let count = 0;
    for (; Date.now() < until; count++) {
      const stopped = new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('announcement not spoken within 120 s')), 120000);
        c.once('message', () => (clearTimeout(t), resolve()));
      });
      await c.publishAsync('voice/satellite/loopbench/announce', JSON.stringify({ text }), { qos: 1 });
      await stopped;
    }
    return count;
  } finally {
    await c.endAsync();
  }
}

export async function benchLoop(): Promise<string> {
  const rows: string[] = [];
  // Idle: the hub with nothing to do.
  {
    console.log('event loop: idle hub...');
    const hub = await hubProcess(['--reply-enabled', 'false', ...HUB_ARGS]);
    const w = await watchStatus(hub.url);
    const from = Date.now();
    await sleep((WINDOW_S + (QUICK ? 2 : 10)) * 1000);
    const to = Date.now();
    await sleep(1100);
    await w.c.endAsync();
    await hub.proc.stop();
    rows.push(row('idle', 'pocketsphinx, no replies', within(w.seen, from, to), (to - from) / 1000));
  }
  // STT bursts: the concurrency section's load (N satellites streaming at real-time pace, measured rounds only).
  const pcms = commandPcms();
  for (const n of QUICK ? [8] : [8, 16]) {
    console.log(`event loop: STT burst, ${n} satellites x (1 warm-up + ${RUNS}) rounds...`);
    const hub = await hubProcess(['--reply-enabled', 'false', ...HUB_ARGS]);
    const w = await watchStatus(hub.url);
    const r = await load({ url: hub.url, hubPid: hub.proc.child.pid as number, satellites: n, rounds: RUNS, pcms, measureFrames: false });
    await sleep(1100);
    await w.c.endAsync();
    await hub.proc.stop();
    rows.push(row(`STT burst, ${n} satellites`, 'pocketsphinx (default decoder), no replies', within(w.seen, r.measuredFrom, r.measuredTo), (r.measuredTo - r.measuredFrom) / 1000));
  }
  // Synthesis: long announcements, spoken as fast as the engine goes (the hub streams each sentence as it is made).
  const seconds = QUICK ? 2 * WINDOW_S : 30;
  const sentences = 12;
  const voice = path.join(ROOT, 'test', 'fixtures', 'tiny-piper.onnx');
  for (const tts of [
    { name: 'flite', args: ['--tts-engine', 'flite'] },
    { name: 'Piper (fixture voice)', args: ['--tts-engine', 'piper', '--tts-piper-voice', voice] },
  ]) {
    console.log(`event loop: ${seconds} s of ${sentences}-sentence announcements with ${tts.name}...`);
    const hub = await hubProcess(['--reply-enabled', 'true', ...tts.args, ...HUB_ARGS]);
    const w = await watchStatus(hub.url);
    await sleep(WINDOW_S * 1000); // start-up stalls (loading the voice) leave the window
    const from = Date.now();
    const count = await announce(hub.url, seconds, sentences);
    const to = Date.now();
    await sleep(1100);
    await w.c.endAsync();
    await hub.proc.stop();
    rows.push(row(`TTS, ${count} ${sentences}-sentence announcements back to back`, tts.name, within(w.seen, from, to), (to - from) / 1000));
  }
  return [
    `The hub's own figures: \`eventLoop\` in its status (\`voice/hub/status\`), published every second here (\`hub.statusIntervalS\` 1) over a ${WINDOW_S} s window (\`hub.eventLoopWindowS\` ${WINDOW_S}: each status covers the last ${WINDOW_S / 2}-${WINDOW_S} s). Delay = how late the hub's 10 ms event-loop tick ran: every MQTT message, the session logic and the embedded broker's forwarding wait that long. A row takes the statuses whose window lies wholly inside the load (\`windows n\`); p50 and p99 are each window's, then the median of those (and the worst window's p99); max stall is the longest over all of them. STT burst: the concurrency section's load (real MQTT satellites streaming flite speech at real-time pace; measured rounds only, ${RUNS} rounds). TTS: announcements to a stand-in satellite, synthesized as fast as the engine goes and streamed as made; Piper with the generated test voice (real phonemizer and ONNX Runtime, tiny network), not a real voice.`,
    '',
    '| load | hub | seconds | windows n | loop p50 ms (median) | p99 ms (median) | p99 ms (worst window) | max stall ms |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
