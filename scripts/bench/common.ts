/** Shared by the benchmark sections: options, statistics, /proc probes, process and MQTT helpers. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { freePort, type Proc, runNode, ROOT, waitPort } from '../../test/helpers';
import { adminAuth } from '../../test/credentials';

export { ROOT };

export function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
/** BENCH_QUICK=1 (or --quick): a smoke run of every section in a few minutes; its figures mean nothing. */
export const QUICK = process.env.BENCH_QUICK === '1' || process.argv.includes('--quick');
export const RUNS = Number(arg('runs') ?? (QUICK ? 3 : 20));
export const ONLY = new Set((arg('only') ?? 'latency,concurrency,satellite,broker,engines,accuracy,loop,ipc,burst,memory,arbitration,intents,local,http,command-args').split(','));
/** A quick run never overwrites the committed figures unless --out says so. */
export const OUT = path.resolve(ROOT, arg('out') ?? (QUICK ? path.join(os.tmpdir(), 'voice-hub-bench-quick.md') : 'docs/benchmarks.md'));
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- statistics

export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
export const median = (xs: number[]) => pct(xs, 50);
export const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
export const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
export const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');

/** Fewer samples than this and a p95 is not reported (one sample would decide it). */
export const MIN_P95 = 20;
/** Fewer samples than this and a p99 is not reported. */
export const MIN_P99 = 100;
/** A percentile cell: the figure, or "-" when there are too few samples for it. */
export function pctCell(xs: number[], p: 95 | 99, fmt: (x: number) => string): string {
  return xs.length >= (p === 99 ? MIN_P99 : MIN_P95) ? fmt(pct(xs, p)) : '-';
}
/** p95, or NaN when there are fewer than MIN_P95 samples. */
export const p95 = (xs: number[]) => (xs.length >= MIN_P95 ? pct(xs, 95) : Number.NaN);

// ---------------------------------------------------------------- process probes (/proc)

/** CPU seconds (user + system) used so far by a process. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100; // USER_HZ is 100 on Linux
}

export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** A process and all its descendants (the hub and its engine processes), from /proc/<pid>/task/<tid>/children. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks: string[];
    try {
      tasks = fs.readdirSync(`/proc/${out[i]}/task`);
    } catch {
      continue; // gone
    }
    for (const tid of tasks) {
      try {
        out.push(...fs.readFileSync(`/proc/${out[i]}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
      } catch {
        // thread gone
      }
    }
  }
  return out;
}

/** Sums a probe over a process and its descendants; processes that end while it reads count as 0. */
export function treeSum(pid: number, probe: (pid: number) => number): number {
  return processTree(pid).reduce((sum, p) => {
    try {
      return sum + probe(p);
    } catch {
      return sum;
    }
  }, 0);
}

/** Samples the RSS of a process and its descendants (the hub with its engine processes) every 200 ms until stopped; returns the peak of the sum. */
export function rssPeak(pid: number): { stop: () => number } {
  let peak = treeSum(pid, rssMb);
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, treeSum(pid, rssMb));
    } catch {
      // process gone
    }
  }, 200);
  return {
    stop: () => {
      clearInterval(t);
      return peak;
    },
  };
}

// ---------------------------------------------------------------- helpers

export async function hubProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ proc: Proc; url: string }> {
  const port = await freePort();
  // The bench replays sessions back to back and faster than real time: the per-satellite abuse limits would cut it short.
  const proc = runNode('hub/main.js', ['--broker-port', String(port), '--broker-host', '127.0.0.1', '--log-level', 'warn', '--session-max-wakes-per-minute', '0', '--session-max-audio-bytes-per-second', '0', ...args], env);
  await waitPort(port, 30000);
  await waitConnect(`mqtt://127.0.0.1:${port}`, 'voice/hub/status');
  return { proc, url: `mqtt://127.0.0.1:${port}` };
}

/** Resolves once a retained `online` message is on `topic` (the hub is ready). */
export async function waitConnect(url: string, topic: string): Promise<void> {
  const c = await mqtt.connectAsync(url, adminAuth(url));
  await new Promise<void>((resolve, reject) => {
    c.on('message', (_t, p) => {
      if (p.toString().includes('"online"')) resolve();
    });
    c.subscribeAsync(topic).catch(reject);
  });
  await c.endAsync();
}

export function connect(url: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { ...adminAuth(url), reconnectPeriod: 500 });
}

/** Frames of 100 ms from a PCM buffer. */
export function frames(pcm: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < pcm.length; off += 3200) out.push(pcm.subarray(off, off + 3200));
  return out;
}

export function machine(): string {
  const cpus = os.cpus();
  let osName = `${os.type()} ${os.release()}`;
  try {
    const rel = fs.readFileSync('/etc/os-release', 'utf8');
    osName = (/PRETTY_NAME="([^"]+)"/.exec(rel)?.[1] ?? osName) + ` (kernel ${os.release()})`;
  } catch {
    // keep uname
  }
  return [
    '| | |',
    '|---|---|',
    `| CPU | ${cpus[0]?.model ?? 'unknown'} |`,
    `| cores | ${os.availableParallelism()} |`,
    `| memory | ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB |`,
    `| OS | ${osName} |`,
    `| Node | ${process.version} |`,
    `| date | ${new Date().toISOString()} |`,
  ].join('\n');
}

