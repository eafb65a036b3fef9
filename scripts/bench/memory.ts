/**
 * Section 10: what a warm STT session costs in memory (issue 15): the RSS a
 * pocketsphinx decoder adds, and the time to make one, with the decoders of
 * a thread sharing one LM and a trimmed dictionary (hub/stt/ps-lm.ts, now),
 * and with each decoder loading its own LM and the full dictionary (before:
 * reproduced by turning the sharing off in a process of its own).
 */
import { execFileSync } from 'node:child_process';
import { loadConfig } from '../../common/config';
import { type HubConfig, hubSchema } from '../../config/hub';
import { PocketsphinxEngine } from '../../hub/stt/pocketsphinx';
import * as psLm from '../../hub/stt/ps-lm';
import { f0, QUICK } from './common';

const rssMb = () => process.memoryUsage().rss / 1048576;

function measure(extra: number): { perMb: number; perMs: number; firstMs: number } {
  const { config } = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: [], env: {} });
  const e = new PocketsphinxEngine(config.stt.pocketsphinx);
  let t = performance.now();
  e.load();
  const firstMs = performance.now() - t;
  const before = rssMb();
  t = performance.now();
  e.warm(1 + extra);
  const per = { perMb: (rssMb() - before) / extra, perMs: (performance.now() - t) / extra, firstMs };
  e.unload();
  return per;
}

/** Measures in a fresh process each (an allocator that reused the other run's memory would hide growth). */
function inChild(mode: 'shared' | 'own', extra: number): ReturnType<typeof measure> {
  return JSON.parse(execFileSync(process.execPath, [__filename, '--measure', mode, String(extra)], { encoding: 'utf8' })) as ReturnType<typeof measure>;
}

if (process.argv[2] === '--measure') {
  if (process.argv[3] === 'own') (psLm as { canShareLm: (args: string) => boolean }).canShareLm = () => false;
  process.stdout.write(JSON.stringify(measure(Number(process.argv[4]))));
}

export function benchMemory(): Promise<string> {
  console.log('memory: RSS per warm pocketsphinx decoder...');
  const extra = QUICK ? 2 : 8;
  const now = inChild('shared', extra);
  const before = inChild('own', extra);
  const row = (name: string, m: typeof now) => `| ${name} | ${f0(m.perMb)} | ${f0(m.perMs)} | ${f0(m.firstMs)} |`;
  return Promise.resolve(`One worker thread's pocketsphinx engine (Debian's en-us model, the hub's default arguments) loads, then makes ${extra} more warm decoders; RSS growth per decoder (the RSS of a fresh process for each way, so figures include allocator slack) and time per decoder. The engine's load makes its first decoder (and, sharing, reads the LM and writes the trimmed dictionary once per machine, cached in the temp directory).

| decoders | MB per warm decoder | ms to make one | load, ms |
|---|---|---|---|
${row('share their thread\'s LM, dictionary trimmed to the LM\'s words (now)', now)}
${row('each loads its own LM and the full dictionary (before)', before)}

Tried and kept: sharing the LM (ps_set_lm) and trimming the dictionary (the 55,303 dictionary lines whose word the LM lacks are never searched; the bench commands decode to the same text). Not shared across threads: sphinxbase's trie LM caches history lookups inside the model. Not tried yet: sharing the acoustic model (pocketsphinx 5prealpha has no API for it), memory-mapping the LM.`);
}
