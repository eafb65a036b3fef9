/**
 * `npm run bench`: latency, concurrency, satellite cost, broker, engine and speech-accuracy
 * benchmarks on real speech fixtures replayed at real-time pace, written to
 * docs/benchmarks.md with the machine they ran on. Benchmarks report; they
 * never fail on a slow machine (the exit code is 0 unless something broke).
 *
 *   node dist/scripts/bench.js [--runs 20] [--only latency,concurrency,satellite,broker,engines,accuracy,loop,ipc,burst,memory,arbitration,intents,local,http,command-args] [--out docs/benchmarks.md]
 *
 * BENCH_QUICK=1 (or --quick): a smoke run that checks every section works in a few minutes (3 runs, short windows,
 * fewer loads), written to $TMPDIR/voice-hub-bench-quick.md unless --out is given; its figures mean nothing.
 * Sections are in scripts/bench/.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { benchAccuracy } from './bench/accuracy';
import { benchArbitration } from './bench/arbitration';
import { benchBroker } from './bench/broker';
import { benchBurst } from './bench/burst';
import { benchCommandArgs } from './bench/command-args';
import { machine, MIN_P95, ONLY, OUT, QUICK, ROOT, RUNS } from './bench/common';
import { benchEngines } from './bench/engines';
import { benchConcurrency } from './bench/concurrency';
import { benchLatency } from './bench/latency';
import { benchHttp } from './bench/http';
import { benchIntents } from './bench/intents';
import { benchLocal } from './bench/local';
import { benchIpc } from './bench/ipc';
import { benchLoop } from './bench/loop';
import { benchMemory } from './bench/memory';
import { benchSatellite } from './bench/satellite';

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  execFileSync('flite', ['-voice', 'slt', '-t', 'ok', '-o', 'none'], { stdio: 'ignore' }); // fixtures need flite
  const sections: string[] = [];
  const add = async (key: string, title: string, fn: () => Promise<string>) => {
    if (!ONLY.has(key)) return;
    const t0 = Date.now();
    try {
      sections.push(`## ${title}\n\n${await fn()}\n\n_(${((Date.now() - t0) / 1000).toFixed(0)} s)_`);
    } catch (err) {
      console.error(`bench ${key} failed:`, err);
      sections.push(`## ${title}\n\nFailed to run: ${(err as Error).message}`);
    }
  };
  await add('latency', '1. Latency of one interaction', benchLatency);
  await add('concurrency', '2. Concurrency', benchConcurrency);
  await add('satellite', '3. Satellite cost', benchSatellite);
  await add('broker', '4. Broker: aedes vs Mosquitto', benchBroker);
  await add('engines', '5. Engines', benchEngines);
  await add('accuracy', '6. Speech accuracy: the recognizer alone against the whole pipeline', () => benchAccuracy());
  await add('loop', "7. Hub event loop: its delay during STT bursts and during synthesis", benchLoop);
  await add('ipc', '8. STT in a process of its own: what the hop costs', benchIpc);
  await add('burst', '9. A cold burst of real satellites', benchBurst);
  await add('memory', '10. Memory per warm STT session', benchMemory);
  await add('arbitration', '11. Cross-room arbitration: one answer per wake word', benchArbitration);
  await add('intents', '12. Intents: spoken commands understood, and how fast', benchIntents);
  await add('local', '13. Answered by the hub against answered by the LLM', benchLocal);
  await add('http', '14. The hub over HTTP: transcribe, and a browser tab as a satellite', benchHttp);
  await add('command-args', "15. The command model's decoder: what its settings cost and hear", benchCommandArgs);
  const doc = `# Benchmarks

Written by \`npm run bench\` (\`scripts/bench.ts\`)${QUICK ? ' as a QUICK SMOKE RUN (BENCH_QUICK=1): these figures only show that each section works' : ''}; ${RUNS} runs per figure unless a table says otherwise, after warm-up, which no figure includes; medians, and p95 only where a figure has at least ${MIN_P95} samples; every table gives its sample count \`n\`. Benchmarks report, they never fail a build; targets are from the project's issues and marked met or missed as measured.

## Machine

${machine()}

${sections.join('\n\n')}
`;
  fs.writeFileSync(OUT, doc);
  console.log(`wrote ${path.relative(ROOT, OUT)}`);
  // Make sure nothing we started keeps the process alive.
  setTimeout(() => process.exit(0), 500).unref();
}

void main().catch((err: unknown) => {
  console.error('bench failed:', err);
  process.exit(1);
});
