/**
 * Runs the accuracy measurement alone and prints its markdown:
 *
 *   node dist/scripts/bench/accuracy-cli.js [--voices slt,rms] [--pauses 0,350,700,1200] [--commands 24]
 *     [--satellites 8] [--pre-roll-ms 300] [--sat-args "..."] [--hub-args "..."] [--skip engine|pipeline]
 *     [--details file.json]
 *
 * --details writes every utterance's transcripts and timings as JSON (no audio).
 */
import * as fs from 'node:fs';
import { ACCURACY_COMMANDS, buildCorpus } from '../../test/accuracy-corpus';
import { engineAlone, runPipeline } from '../../test/accuracy-harness';
import { accuracyExamples, accuracyOptions, accuracyTable } from './accuracy';
import { score } from '../../test/accuracy-score';
import { arg, f0, median, pct } from './common';

async function main(): Promise<void> {
  const opts = accuracyOptions();
  const details = arg('details');
  const utts = buildCorpus({ voices: opts.voices, pauses: opts.pauses, commands: ACCURACY_COMMANDS.slice(0, opts.commands) });
  console.log(`${utts.length} utterances; options ${JSON.stringify(opts)}`);
  const t0 = Date.now();
  const engine = opts.engine ? engineAlone(utts) : undefined;
  const engineS = (Date.now() - t0) / 1000;
  const satelliteArgs = [...(opts.preRollMs === undefined ? [] : ['--vad-pre-roll-ms', String(opts.preRollMs)]), ...opts.satelliteArgs];
  const run = opts.pipeline ? await runPipeline(utts, { satellites: opts.satellites, satelliteArgs, hubArgs: opts.hubArgs }) : undefined;
  console.log(accuracyTable(score(utts, { pipeline: run?.results, engine })));
  if (run) console.log(`\n${accuracyExamples(utts, run, 40)}`);
  const finalize = run?.results.flatMap((r) => r.sessions.flatMap((s) => {
    const t = s.final?.timings as { finalizeMs?: number } | undefined;
    return t?.finalizeMs === undefined ? [] : [t.finalizeMs];
  })) ?? [];
  if (run) console.log(`\nhub finalizeMs (stop or endpoint -> final): median ${f0(median(finalize))}, p95 ${f0(pct(finalize, 95))}, max ${f0(Math.max(...finalize))} (n = ${finalize.length})`);
  console.log(`\nengine alone ${engineS.toFixed(0)} s; pipeline ${run ? `${(run.wallMs / 1000).toFixed(0)} s wall, ${run.unmapped.length} unmapped session(s), ${run.hubWarnings.length} hub and ${run.satelliteWarnings.length} satellite warning(s)` : 'skipped'}`);
  for (const w of run?.hubWarnings.slice(0, 10) ?? []) console.log(`  hub: ${w.slice(0, 300)}`);
  for (const w of run?.satelliteWarnings.slice(0, 10) ?? []) console.log(`  satellite: ${w.slice(0, 300)}`);
  if (details) {
    const out = utts.map((u) => {
      const r = run?.results.find((x) => x.id === u.id);
      return {
        id: u.id, voice: u.voice, pauseMs: u.pauseMs, command: u.command,
        wakeStart: u.wakeStart, wakeEnd: u.wakeEnd, commandStart: u.commandStart, commandEnd: u.commandEnd,
        engine: engine?.get(u.id),
        pipeline: r && {
          ...r,
          sessions: r.sessions.map((s) => ({
            sessionId: s.sessionId, satellite: s.satellite, wake: s.wake, start: s.start, stop: s.stop, final: s.final,
            partials: s.partials.map((p) => p.text), frames: s.frames.length, bytes: s.frames.reduce((a, f) => a + f.pcm.length, 0),
            startSample: s.startSample, endSample: s.endSample, decodedEndSample: s.decodedEndSample,
          })),
        },
      };
    });
    fs.writeFileSync(details, JSON.stringify({ opts, unmapped: run?.unmapped.map((s) => ({ ...s, frames: s.frames.length })), utterances: out }, null, 1));
    console.log(`details in ${details}`);
  }
  setTimeout(() => process.exit(0), 500).unref();
}

void main().catch((err: unknown) => {
  console.error('accuracy failed:', err);
  process.exit(1);
});
