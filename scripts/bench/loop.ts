/**
 * Section 7: the hub's main event loop under load, as its own status reports it
 * (eventLoop in voice/hub/status, hub/event-loop.ts): idle, during STT bursts
 * (the concurrency section's load) and while long announcements are synthesized;
 * with, during idle and synthesis, the embedded broker's forwarding latency
 * between two clients (test/forward-probe.ts). Then what Piper's intra-op
 * threads buy (tts.piper.threads), and what the TTS process's IPC costs.
 * The rows measured with synthesis in the hub process (before issue 16's TTS
 * process) are kept as they were measured, at commit fd0970e.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import type { TtsEngine } from '../../hub/tts/engine';
import { FliteEngine } from '../../hub/tts/flite';
import { PiperEngine } from '../../hub/tts/piper';
import { TtsProcess } from '../../hub/tts/process';
import { type ForwardResult, startForwardProbe } from '../../test/forward-probe';
import { connect, f0, f2, hubProcess, median, pct, QUICK, ROOT, RUNS, sleep } from './common';
import { commandPcms, load } from './load';

/** The status's window (hub.eventLoopWindowS): each status covers the last 2-4 s; one comes every second. */
const WINDOW_S = 4;
const HUB_ARGS = ['--hub-status-interval-s', '1', '--hub-event-loop-window-s', String(WINDOW_S)];
const TINY_VOICE = path.join(ROOT, 'test', 'fixtures', 'tiny-piper.onnx');
const HEAVY_VOICE = path.join(ROOT, 'test', 'fixtures', 'heavy-piper.onnx');

/**
 * Measured with synthesis in the hub process, at commit fd0970e, on the machine of docs/benchmarks.md: the first
 * rows by that commit's own bench (2026-11-22T10:06Z, section 7 as it was); the rows with forwarding figures by
 * this section's idle and TTS loads and its probe, run against a build of fd0970e (2026-11-22T11:58Z; Piper's
 * intra-op threads were fixed at 1 there).
 */
const BEFORE = [
  '| idle | pocketsphinx, no replies | 14 | 11 | 0.20 | 0.40 | 0.60 | 2.00 | - | - | - | - |',
  '| STT burst, 8 satellites | pocketsphinx (default decoder), no replies | 54 | 52 | 0.10 | 3.40 | 4.00 | 6.70 | - | - | - | - |',
  '| STT burst, 16 satellites | pocketsphinx (default decoder), no replies | 61 | 58 | 0.10 | 3.60 | 4.60 | 11.50 | - | - | - | - |',
  '| TTS, 45 12-sentence announcements back to back | flite | 31 | 27 | 0.10 | 13.20 | 15.10 | 18.70 | - | - | - | - |',
  '| TTS, 250 12-sentence announcements back to back | Piper (fixture voice) | 30 | 28 | 7.00 | 19.20 | 26.50 | 32.80 | - | - | - | - |',
  '| idle (with the probe) | pocketsphinx, no replies | 14 | 11 | 0.10 | 0.80 | 1.10 | 3.40 | 238 | 0.74 | 1.72 | 9.11 |',
  '| TTS, 44 12-sentence announcements back to back (with the probe) | flite | 31 | 27 | 0.10 | 13.80 | 20.00 | 69.50 | 514 | 0.69 | 21.31 | 72.43 |',
  '| TTS, 232 12-sentence announcements back to back (with the probe) | Piper (fixture voice) | 30 | 27 | 7.40 | 23.00 | 32.80 | 40.00 | 507 | 15.41 | 56.55 | 88.09 |',
  '| TTS, 23 12-sentence announcements back to back (with the probe) | Piper (heavy fixture voice), 1 thread | 31 | 27 | 104.20 | 138.50 | 223.20 | 223.20 | 523 | 187.74 | 378.60 | 528.77 |',
];

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

function forwardCells(f?: ForwardResult): string {
  if (!f) return '- | - | - | -';
  const l = f.latencies;
  return `${l.length}${f.lost ? ` (${f.lost} lost)` : ''} | ${f2(median(l))} | ${l.length >= 100 ? f2(pct(l, 99)) : '-'} | ${f2(Math.max(...l))}`;
}

function row(name: string, hub: string, r: { loops: Loop[]; partial: boolean }, seconds: number, fwd?: ForwardResult): string {
  const p99 = r.loops.map((l) => l.p99Ms);
  const note = r.partial ? ' (shorter than one window: windows overlap idle time)' : '';
  return `| ${name} | ${hub} | ${f0(seconds)} | ${r.loops.length}${note} | ${f2(median(r.loops.map((l) => l.p50Ms)))} | ${f2(median(p99))} | ${f2(Math.max(...p99))} | ${f2(Math.max(...r.loops.map((l) => l.maxMs)))} | ${forwardCells(fwd)} |`;
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

/** Keeps one core busy (a hub's STT, broker and MQTT work) while `fn` runs. */
async function withBusyCore<T>(fn: () => Promise<T>): Promise<T> {
  const busy: ChildProcess = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  try {
    await sleep(200);
    return await fn();
  } finally {
    busy.kill('SIGKILL');
  }
}

/** CPU ms this process used while `fn` ran (ONNX Runtime's threads included). */
async function cpuMs<T>(fn: () => Promise<T>): Promise<{ value: T; cpu: number }> {
  const c0 = process.cpuUsage();
  const value = await fn();
  const c = process.cpuUsage(c0);
  return { value, cpu: (c.user + c.system) / 1000 };
}

const never = new AbortController().signal;

/** One sentence through an engine: ms to its first chunk and to its end, and its bytes. */
async function timeSentence(e: TtsEngine, text: string): Promise<{ firstMs: number; totalMs: number; bytes: number }> {
  const t0 = performance.now();
  let firstMs = Number.NaN;
  let bytes = 0;
  for await (const c of e.synthesize(text, never)) {
    if (bytes === 0) firstMs = performance.now() - t0;
    bytes += c.length;
  }
  return { firstMs, totalMs: performance.now() - t0, bytes };
}

/** Per intra-op thread count: the heavy voice's ms and CPU ms per sentence, the other core idle, then busy. */
async function benchThreads(): Promise<string[]> {
  const text = SENTENCES[1];
  const cores = os.availableParallelism();
  const rows: string[] = [];
  for (const threads of [...new Set([1, 2, cores])]) {
    const e = new PiperEngine({ voice: HEAVY_VOICE, speaker: 0, lengthScale: 0, threads });
    await e.start();
    const cells: string[] = [];
    let audioS = 0;
    for (const busy of [false, true]) {
      const run = async () => {
        await timeSentence(e, text); // warm-up
        const ms: number[] = [];
        const cpu: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const r = await cpuMs(() => timeSentence(e, text));
          ms.push(r.value.totalMs);
          cpu.push(r.cpu);
          audioS = r.value.bytes / 2 / e.format.rate;
        }
        return { ms, cpu };
      };
      const r = busy ? await withBusyCore(run) : await run();
      cells.push(`${f0(median(r.ms))} (${f0(Math.min(...r.ms))}-${f0(Math.max(...r.ms))})`, f0(median(r.cpu)));
    }
    await e.stop();
    const note = threads === PiperEngine.defaultThreads() ? ' (the default here, tts.piper.threads 0)' : threads === cores ? ` (all ${cores} cores: ONNX Runtime's own default)` : '';
    rows.push(`| ${threads}${note} | ${f2(audioS)} | ${cells.join(' | ')} |`);
  }
  return rows;
}

/** Per engine: a sentence synthesized in this process and through a TTS process (hub/tts/process.ts). */
async function benchIpc(): Promise<string[]> {
  const text = SENTENCES[1];
  const log = pino({ level: 'silent' });
  const rows: string[] = [];
  const engines: { name: string; inProcess: () => TtsEngine; init: ConstructorParameters<typeof TtsProcess>[0] }[] = [
    { name: 'Piper, fixture voice', inProcess: () => new PiperEngine({ voice: TINY_VOICE, speaker: 0, lengthScale: 0, threads: 1 }), init: { engine: 'piper', piper: { voice: TINY_VOICE, speaker: 0, lengthScale: 0, threads: 1 }, flite: { binary: 'flite', voice: 'slt' }, logLevel: 'silent' } },
    { name: 'Piper, heavy fixture voice', inProcess: () => new PiperEngine({ voice: HEAVY_VOICE, speaker: 0, lengthScale: 0, threads: 1 }), init: { engine: 'piper', piper: { voice: HEAVY_VOICE, speaker: 0, lengthScale: 0, threads: 1 }, flite: { binary: 'flite', voice: 'slt' }, logLevel: 'silent' } },
    { name: 'flite', inProcess: () => new FliteEngine('flite', 'slt'), init: { engine: 'flite', piper: { voice: '', speaker: 0, lengthScale: 0 }, flite: { binary: 'flite', voice: 'slt' }, logLevel: 'silent' } },
  ];
  for (const x of engines) {
    const inp = x.inProcess();
    const proc = new TtsProcess(x.init, log);
    const both = [inp, proc];
    for (const e of both) {
      await e.start();
      await timeSentence(e, text); // warm-up
    }
    // Alternately, so that both see the same machine.
    const results: { firstMs: number; totalMs: number; bytes: number }[][] = [[], []];
    for (let i = 0; i < RUNS; i++) for (const [k, e] of both.entries()) results[k].push(await timeSentence(e, text));
    for (const e of both) await e.stop();
    const m = (k: number, f: 'firstMs' | 'totalMs') => median(results[k].map((r) => r[f]));
    const bytes = results[1][0]?.bytes ?? 0;
    const audioS = bytes / 2 / proc.format.rate;
    rows.push(`| ${x.name} | ${f2(audioS)} s, ${f0(bytes / 1024)} KiB | ${f2(m(0, 'firstMs'))} | ${f2(m(1, 'firstMs'))} | ${f2(m(1, 'firstMs') - m(0, 'firstMs'))} | ${f2(m(0, 'totalMs'))} | ${f2(m(1, 'totalMs'))} | ${f2(m(1, 'totalMs') - m(0, 'totalMs'))} | ${f2(bytes / 2 ** 20 / (m(1, 'totalMs') / 1000))} |`);
  }
  return rows;
}

export async function benchLoop(): Promise<string> {
  const rows: string[] = [];
  // Idle: the hub with nothing to do.
  {
    console.log('event loop: idle hub...');
    const hub = await hubProcess(['--reply-enabled', 'false', ...HUB_ARGS]);
    const w = await watchStatus(hub.url);
    const probe = await startForwardProbe(hub.url);
    const from = Date.now();
    await sleep((WINDOW_S + (QUICK ? 2 : 10)) * 1000);
    const to = Date.now();
    const fwd = await probe.stop();
    await sleep(1100);
    await w.c.endAsync();
    await hub.proc.stop();
    rows.push(row('idle', 'pocketsphinx, no replies', within(w.seen, from, to), (to - from) / 1000, fwd));
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
  // Synthesis: long announcements, spoken as fast as the engine goes (the hub streams each sentence as it is made),
  // while the probe's frames go through the hub's broker.
  const seconds = QUICK ? 2 * WINDOW_S : 30;
  const sentences = 12;
  for (const tts of [
    { name: 'flite', args: ['--tts-engine', 'flite'] },
    { name: 'Piper (fixture voice)', args: ['--tts-engine', 'piper', '--tts-piper-voice', TINY_VOICE] },
    { name: 'Piper (heavy fixture voice), 1 thread', args: ['--tts-engine', 'piper', '--tts-piper-voice', HEAVY_VOICE, '--tts-piper-threads', '1'] },
    { name: 'Piper (heavy fixture voice), 2 threads', args: ['--tts-engine', 'piper', '--tts-piper-voice', HEAVY_VOICE, '--tts-piper-threads', '2'] },
  ]) {
    console.log(`event loop: ${seconds} s of ${sentences}-sentence announcements with ${tts.name}...`);
    const hub = await hubProcess(['--reply-enabled', 'true', ...tts.args, ...HUB_ARGS]);
    const w = await watchStatus(hub.url);
    await sleep(WINDOW_S * 1000); // start-up stalls (loading the voice) leave the window
    const probe = await startForwardProbe(hub.url);
    const from = Date.now();
    const count = await announce(hub.url, seconds, sentences);
    const to = Date.now();
    const fwd = await probe.stop();
    await sleep(1100);
    await w.c.endAsync();
    await hub.proc.stop();
    rows.push(row(`TTS, ${count} ${sentences}-sentence announcements back to back`, tts.name, within(w.seen, from, to), (to - from) / 1000, fwd));
  }
  console.log('event loop: Piper intra-op threads...');
  const threads = await benchThreads();
  console.log('event loop: TTS process IPC cost...');
  const ipc = await benchIpc();
  return [
    `The hub's own figures: \`eventLoop\` in its status (\`voice/hub/status\`), published every second here (\`hub.statusIntervalS\` 1) over a ${WINDOW_S} s window (\`hub.eventLoopWindowS\` ${WINDOW_S}: each status covers the last ${WINDOW_S / 2}-${WINDOW_S} s). Delay = how late the hub's 10 ms event-loop tick ran: every MQTT message, the session logic and the embedded broker's forwarding wait that long. A row takes the statuses whose window lies wholly inside the load (\`windows n\`); p50 and p99 are each window's, then the median of those (and the worst window's p99); max stall is the longest over all of them. STT burst: the concurrency section's load (real MQTT satellites streaming flite speech at real-time pace; measured rounds only, ${RUNS} rounds). TTS: announcements to a stand-in satellite, synthesized as fast as the engine goes and streamed as made; Piper with generated test voices (real phonemizer and ONNX Runtime), not a real voice: the fixture voice's network is tiny, the heavy fixture voice adds real arithmetic (1-d convolutions, ~0.1 s of inference per second of audio on one thread here, a stand-in for a voice whose synthesis takes real time; \`test/fixtures/make-piper-voice.py\`).`,
    '',
    `Forwarding: while idle and during synthesis, a client publishes 3200-byte frames (100 ms of audio) at QoS 0 every 20-100 ms through the hub's embedded broker to a second client (\`test/forward-probe.ts\`; both clients in the bench process); publish -> delivery ms. \`test/tts-forwarding.test.ts\` bounds the same figure.`,
    '',
    '**Before**: synthesis in the hub process, at commit fd0970e: the first five rows by that commit\'s bench, the rows "with the probe" by this section\'s idle and TTS loads run against a build of it (Piper\'s threads were fixed at 1 there).',
    '',
    '| load | hub | seconds | windows n | loop p50 ms (median) | p99 ms (median) | p99 ms (worst window) | max stall ms | forwarded frames n | forwarding p50 ms | p99 ms | max ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...BEFORE,
    '',
    '**After**: synthesis in the TTS process (`hub/tts/host.ts`); STT in its own process too.',
    '',
    '| load | hub | seconds | windows n | loop p50 ms (median) | p99 ms (median) | p99 ms (worst window) | max stall ms | forwarded frames n | forwarding p50 ms | p99 ms | max ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `**Piper intra-op threads** (\`tts.piper.threads\`): one sentence ("${SENTENCES[1]}") with the heavy fixture voice, synthesized in the bench process; ${RUNS} runs each, median (min-max); CPU ms counts every thread. Then again with a busy-loop process keeping one core busy, as a hub's STT and broker do.`,
    '',
    '| intra-op threads | audio s | ms, other core idle | CPU ms | ms, one core busy | CPU ms |',
    '|---|---|---|---|---|---|',
    ...threads,
    '',
    `**TTS process IPC cost**: the same sentence synthesized by an engine in the bench process and through a TTS process (\`hub/tts/process.ts\`: the sentence goes over IPC and its chunks of 100 ms come back as bytes, Node's advanced serialization), alternately; Piper with 1 thread; ${RUNS} runs each, medians. Piper makes a sentence's audio at once, so its first chunk comes with its last. Audio MiB/s through the process: the sentence's bytes over its whole time through the process, which synthesis bounds (spoken audio is 0.04 MiB/s at 22050 Hz). The fixture voice, whose inference costs almost nothing, shows what IPC adds per sentence.`,
    '',
    '| engine | sentence audio | first chunk ms, in-process | through the process | added | whole sentence ms, in-process | through the process | added | audio MiB/s through the process |',
    '|---|---|---|---|---|---|---|---|---|',
    ...ipc,
  ].join('\n');
}
