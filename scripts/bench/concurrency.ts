/** Section 2: how many satellites one hub decodes in real time. */
import * as os from 'node:os';
import { f0, f2, hubProcess, median, MIN_P95, pctCell, QUICK, RUNS } from './common';
import { commandPcms, FAST_ARGS, load } from './load';

export async function benchConcurrency(): Promise<string> {
  const pcms = commandPcms();
  const rows: string[] = [];
  const largest = { default: 0, fast: 0 };
  const broken = { default: false, fast: false };
  const profiles = [
    { name: 'default' as const, env: {}, ns: QUICK ? [1, 8] : [1, 2, 4, 8, 16, 32] },
    // By environment: a flag value starting with "-" would be read as a flag.
    { name: 'fast' as const, env: { VOICE_HUB_STT_POCKETSPHINX_ARGS: FAST_ARGS }, ns: QUICK ? [8] : [8, 16, 32] },
  ];
  for (const prof of profiles) {
    for (const n of prof.ns) {
      console.log(`concurrency (${prof.name} decoder): ${n} satellites x (1 warm-up + ${RUNS}) rounds...`);
      const hub = await hubProcess(['--reply-enabled', 'false'], prof.env);
      const r = await load({ url: hub.url, hubPid: hub.proc.child.pid as number, satellites: n, rounds: RUNS, pcms, measureFrames: false });
      await hub.proc.stop();
      const worst = Math.max(...r.latencies);
      const realtime = worst <= 500;
      // Largest N of an unbroken run of real-time rows (the fast profile starts at 8: smaller N only get easier).
      if (!realtime) broken[prof.name] = true;
      else if (!broken[prof.name]) largest[prof.name] = n;
      const missing = r.missing ? ` (${r.missing} without a transcript)` : '';
      rows.push(`| ${prof.name} | ${n} | ${r.latencies.length}${missing} | ${f0(median(r.latencies))} | ${pctCell(r.latencies, 95, f0)} | ${f0(worst)} | ${f2(r.hubCpuCores)} | ${f0(r.hubRssPeakMb)} | ${(r.wer * 100).toFixed(0)} % | ${realtime ? 'yes' : 'no'} |`);
    }
  }
  return [
    `Each satellite is a real MQTT client (mqtt.js) streaming a flite-spoken command at real-time pace (100 ms frames) to the hub process (embedded aedes, pocketsphinx, ${os.availableParallelism()} STT worker threads), all at once, ${RUNS} rounds after one warm-up round. The warm-up round is outside every figure: latencies, hub CPU (CPU-seconds over wall seconds) and RSS are taken from the end of the warm-up to the end of the last round. Latency: from the satellite's stop to the final transcript at a subscriber; \`n\` is the number of sessions behind it; p95 only where n ≥ ${MIN_P95}. "Real time" means no session over 500 ms. Decoder "default" is stt.pocketsphinx.args = "-maxhmmpf 3000"; "fast" is "${FAST_ARGS}" (lower accuracy, see the engine table). The load generator runs on the same ${os.availableParallelism()} cores.`,
    '',
    '| decoder | satellites | n | latency median ms | p95 ms | max ms | hub CPU (cores) | hub RSS peak MB | WER | real time |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Largest N decoding in real time: **${largest.default}** with the default decoder, **${largest.fast}** with the fast one (target ≥ 16 with pocketsphinx on this machine: ${largest.default >= 16 ? 'met' : largest.fast >= 16 ? 'met with the fast decoder only' : 'missed'}).`,
  ].join('\n');
}
