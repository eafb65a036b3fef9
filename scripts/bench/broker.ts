/** Section 4: the hub's embedded aedes against Mosquitto under the same load. */
import { type ChildProcess, spawn } from 'node:child_process';
import { freePort, runNode, waitPort } from '../../test/helpers';
import { f0, f2, hubProcess, median, MIN_P95, MIN_P99, pct, pctCell, QUICK, RUNS, waitConnect } from './common';
import { commandPcms, load, type LoadResult } from './load';

/** Loads compared: 8 and 16 do not saturate the 2 cores (see section 2's hub CPU), 32 does. */
const NS = QUICK ? [8, 32] : [8, 16, 32];
const TARGET_N = 32;

export async function benchBroker(): Promise<string> {
  const pcms = commandPcms();
  const port = await freePort();
  const mosq: ChildProcess = spawn('mosquitto', ['-p', String(port)], { stdio: 'ignore' });
  await waitPort(port);
  const mosqUrl = `mqtt://127.0.0.1:${port}`;
  const rows: string[] = [];
  const ratios: string[] = [];
  let verdict = `not measured at ${TARGET_N}`;
  try {
    for (const n of NS) {
      console.log(`broker: ${n} satellites x (1 warm-up + ${RUNS}) rounds through aedes, then Mosquitto...`);
      const aedesHub = await hubProcess(['--reply-enabled', 'false']);
      const a = await load({ url: aedesHub.url, hubPid: aedesHub.proc.child.pid as number, satellites: n, rounds: RUNS, pcms, measureFrames: true });
      await aedesHub.proc.stop();
      const hub = runNode('hub/main.js', ['--mqtt-url', mosqUrl, '--reply-enabled', 'false', '--log-level', 'warn']);
      await waitConnect(mosqUrl, 'voice/hub/status');
      const m = await load({ url: mosqUrl, hubPid: hub.child.pid as number, brokerPid: mosq.pid, satellites: n, rounds: RUNS, pcms, measureFrames: true });
      await hub.stop();
      rows.push(row('aedes (embedded)', n, a), row('Mosquitto', n, m));
      const r50 = median(a.frameLatencies) / Math.max(0.001, median(m.frameLatencies));
      const enough99 = Math.min(a.frameLatencies.length, m.frameLatencies.length) >= MIN_P99;
      const r99 = enough99 ? pct(a.frameLatencies, 99) / Math.max(0.001, pct(m.frameLatencies, 99)) : Number.NaN;
      ratios.push(`${n} satellites: p50 ${f2(r50)}×, p99 ${enough99 ? `${f2(r99)}×` : `- (n < ${MIN_P99})`}`);
      if (n === TARGET_N) {
        const ok50 = r50 <= 1.5;
        const ok99 = r99 <= 1.5;
        verdict = !enough99 ? `${ok50 ? 'met' : 'missed'} at p50, p99 not judged (n < ${MIN_P99})` : ok50 && ok99 ? 'met' : ok50 || ok99 ? `met at ${ok50 ? 'p50' : 'p99'} only` : 'missed';
      }
    }
  } finally {
    mosq.kill('SIGTERM');
  }
  return [
    `The load of section 2 (real-time speech from N satellite clients, one warm-up round then ${RUNS} measured rounds, default decoder) at ${NS.join(', ')} satellites, once through the hub's embedded aedes and once through Debian's Mosquitto (hub joined with mqtt.url). Frame delivery latency: from a satellite client's publish to delivery at another subscriber on the same broker (the hub subscribes too), measured with performance.now(); each frame carries a sequence number (in the lowest bit of its first 16 samples) and a delivery is matched to its publish by that number; frames never delivered are counted as lost. Hub and broker CPU (CPU-seconds over wall seconds, 2 cores = 2.00) are taken over the measured rounds only, to show which loads leave CPU to spare: the embedded aedes shares the hub process with speech decoding, Mosquitto runs in its own process. \`n\`: samples behind the figures to its right; p95 only where n ≥ ${MIN_P95}, p99 where n ≥ ${MIN_P99}.`,
    '',
    '| broker | satellites | hub CPU (cores) | broker process CPU | frames n | lost | reordered | delivery p50 ms | p95 ms | p99 ms | sessions n | transcript latency median ms | p95 ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `aedes / Mosquitto frame delivery: ${ratios.join('; ')} (target ≤ 1.5× at ${TARGET_N} satellites: ${verdict}).`,
  ].join('\n');
}

function row(name: string, n: number, r: LoadResult): string {
  const fl = r.frameLatencies;
  const missing = r.missing ? ` (${r.missing} without a transcript)` : '';
  return `| ${name} | ${n} | ${f2(r.hubCpuCores)} | ${Number.isFinite(r.brokerCpuCores) ? f2(r.brokerCpuCores) : 'in the hub'} | ${fl.length} of ${r.framesSent} | ${r.framesLost} | ${r.framesReordered} | ${f2(median(fl))} | ${pctCell(fl, 95, f2)} | ${pctCell(fl, 99, f2)} | ${r.latencies.length}${missing} | ${f0(median(r.latencies))} | ${pctCell(r.latencies, 95, f0)} |`;
}
