/** Section 4: the hub's embedded aedes against Mosquitto under the same load. */
import { type ChildProcess, spawn } from 'node:child_process';
import { freePort, runNode, waitPort } from '../../test/helpers';
import { f0, f2, hubProcess, median, pct, RUNS, waitConnect } from './common';
import { commandPcms, load, type LoadResult } from './load';

export async function benchBroker(): Promise<string> {
  const pcms = commandPcms();
  const n = 32;
  console.log(`broker: ${n} satellites through aedes and Mosquitto...`);
  const aedesHub = await hubProcess(['--reply-enabled', 'false']);
  const a = await load(aedesHub.url, aedesHub.proc.child.pid as number, n, RUNS, pcms, true);
  await aedesHub.proc.stop();

  const port = await freePort();
  const mosq: ChildProcess = spawn('mosquitto', ['-p', String(port)], { stdio: 'ignore' });
  await waitPort(port);
  const url = `mqtt://127.0.0.1:${port}`;
  const hub = runNode('hub/main.js', ['--mqtt-url', url, '--reply-enabled', 'false', '--log-level', 'warn']);
  await waitConnect(url, 'voice/hub/status');
  const m = await load(url, hub.child.pid as number, n, RUNS, pcms, true);
  await hub.stop();
  mosq.kill('SIGTERM');
  const ratio50 = median(a.frameLatencies) / Math.max(0.001, median(m.frameLatencies));
  const ratio99 = pct(a.frameLatencies, 99) / Math.max(0.001, pct(m.frameLatencies, 99));
  const row = (name: string, r: LoadResult) => `| ${name} | ${r.frameLatencies.length} | ${f2(median(r.frameLatencies))} | ${f2(pct(r.frameLatencies, 95))} | ${f2(pct(r.frameLatencies, 99))} | ${f0(median(r.latencies))} | ${f0(pct(r.latencies, 95))} |`;
  return [
    `The same load as above with ${n} satellites (${RUNS} rounds), once through the hub's embedded aedes and once through Debian's Mosquitto (hub joined with mqtt.url). Frame delivery latency: from a satellite client's publish to delivery at another subscriber on the same broker (the hub subscribes too), measured with performance.now(). The embedded aedes shares the hub process with speech decoding; Mosquitto runs in its own process.`,
    '',
    '| broker | frames | delivery p50 ms | p95 ms | p99 ms | transcript latency median ms | p95 ms |',
    '|---|---|---|---|---|---|---|',
    row('aedes (embedded)', a),
    row('Mosquitto', m),
    '',
    `aedes / Mosquitto: p50 ${f2(ratio50)}×, p99 ${f2(ratio99)}× (target ≤ 1.5× at ${n} satellites: ${ratio99 <= 1.5 && ratio50 <= 1.5 ? 'met' : ratio99 <= 1.5 || ratio50 <= 1.5 ? `met at ${ratio50 <= 1.5 ? 'p50' : 'p99'} only` : 'missed'}).`,
  ].join('\n');
}
