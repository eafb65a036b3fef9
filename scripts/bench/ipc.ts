/**
 * Section 8: what running STT in a process of its own costs. The same
 * sessions (pocketsphinx, the default decoder, flite commands over a noise
 * floor streamed at real-time pace in 100 ms frames) go through the worker
 * pool in this process (as the hub ran before issue 16) and through the STT
 * process (hub/stt/process.ts, as the hub runs now). Audio is 32 KB/s per
 * session either way; what differs is the hop: a postMessage to a worker
 * thread, or Node's IPC pipe (advanced serialization) to a process.
 */
import { loadConfig } from '../../common/config';
import { type HubConfig, hubSchema } from '../../config/hub';
import type { Word } from '../../hub/stt/engine';
import { type Stt, SttPool } from '../../hub/stt/pool';
import { SttProcess } from '../../hub/stt/process';
import { f0, f2, frames, median, pctCell, QUICK, RUNS, sleep, cpuSeconds } from './common';
import { commandPcms } from './load';
import pino from 'pino';

interface Row {
  mode: string;
  n: number;
  finals: number[];
  audioS: number;
  mainBusyMs: number;
  cpuS: number;
  wallS: number;
}

async function round(stt: Stt, pcms: Buffer[], n: number, k: number): Promise<{ finals: number[]; audioS: number }> {
  const sessions = Array.from({ length: n }, (_, i) => {
    const pcm = pcms[(k + i) % pcms.length];
    const sid = `ipc-${k}-${i}`;
    let resolve!: (ms: number) => void;
    const done = new Promise<number>((r) => (resolve = r));
    let finishedAt = 0;
    const h = stt.open(sid, {
      partial: () => undefined,
      final: (_w: Word[]) => resolve(performance.now() - finishedAt),
      error: (e) => {
        console.error(`ipc bench: session ${sid}: ${e.code} ${e.message}`);
        resolve(Number.NaN);
      },
    });
    return { pcm, fr: frames(pcm), h, done, finish: () => ((finishedAt = performance.now()), h.finish()) };
  });
  const longest = Math.max(...sessions.map((s) => s.fr.length));
  const t0 = Date.now();
  for (let f = 0; f < longest; f++) {
    const due = t0 + f * 100;
    if (due > Date.now()) await sleep(due - Date.now());
    for (const s of sessions) {
      if (f < s.fr.length) s.h.audio(s.fr[f]);
      if (f === s.fr.length - 1) s.finish();
    }
  }
  const finals = await Promise.all(sessions.map((s) => s.done));
  return { finals, audioS: sessions.reduce((a, s) => a + s.pcm.length / 32000, 0) };
}

async function measure(mode: string, stt: Stt, childPid: () => number | undefined, pcms: Buffer[], n: number, rounds: number): Promise<Row> {
  await round(stt, pcms, n, 0); // warm-up: decoders are created
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const pid = childPid();
  const child0 = pid ? cpuSeconds(pid) : 0;
  const t0 = performance.now();
  const row: Row = { mode, n, finals: [], audioS: 0, mainBusyMs: 0, cpuS: 0, wallS: 0 };
  for (let k = 1; k <= rounds; k++) {
    const r = await round(stt, pcms, n, k);
    row.finals.push(...r.finals);
    row.audioS += r.audioS;
  }
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  row.wallS = (performance.now() - t0) / 1000;
  row.mainBusyMs = elu.active;
  row.cpuS = (cpu.user + cpu.system) / 1e6 + (pid ? cpuSeconds(pid) - child0 : 0);
  return row;
}

export async function benchIpc(): Promise<string> {
  console.log('ipc: STT in-process pool vs STT process...');
  const { config } = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: [], env: {} });
  const settings = { ...config.stt, engine: 'pocketsphinx' as const };
  const workers = SttPool.defaultSize(config.stt.workers);
  const { warm } = SttPool.defaultWarm(config.stt.warmSessions, workers);
  const log = pino({ level: 'silent' });
  const pcms = commandPcms();
  const rounds = QUICK ? 1 : Math.max(3, Math.round(RUNS / 4));
  const rows: Row[] = [];
  for (const n of QUICK ? [1] : [1, 4, 8]) {
    const pool = new SttPool(settings, workers, log, warm);
    await pool.start();
    rows.push(await measure('worker pool in the hub process (before)', pool, () => undefined, pcms, n, rounds));
    await pool.stop();
    const proc = new SttProcess(settings, workers, warm, 'silent', log);
    await proc.start();
    rows.push(await measure('STT process (now)', proc, () => proc.pid, pcms, n, rounds));
    await proc.stop();
  }
  const table = rows.map((r) => {
    const ok = r.finals.filter(Number.isFinite);
    return `| ${r.mode} | ${r.n} | ${ok.length} of ${r.finals.length} | ${f2(r.mainBusyMs / r.audioS)} | ${f2(r.cpuS / r.wallS)} | ${f0(median(ok))} | ${pctCell(ok, 95, f0)} |`;
  });
  return `Sessions at once stream flite commands over a noise floor at real-time pace (100 ms frames, 32 KB/s each), ${rounds} measured rounds after a warm-up round, through the STT worker pool (${workers} worker threads, pocketsphinx, default decoder) in this process, then through the STT process running the same pool. Main thread: the event loop's busy time (\`performance.eventLoopUtilization\`) per second of audio sent, i.e. what the hop to the decoders costs the thread that runs the hub's broker and sessions. CPU: this process plus the STT process, in cores. Finish → final: from the finish request to the final result.

| where STT runs | sessions at once | finals | main thread busy, ms per audio s | CPU cores, total | finish → final, ms median | p95 |
|---|---|---|---|---|---|---|
${table.join('\n')}`;
}
