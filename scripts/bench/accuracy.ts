/**
 * Speech accuracy (issue 8: the wake word must not reach the transcript):
 * the corpus of test/accuracy-corpus.ts ("hey jarvis", a pause, a command,
 * over pink noise) through the recognizer alone and through real hub and
 * satellite processes; word error rate and wake-word debris per voice x pause.
 */
import { ACCURACY_COMMANDS, ACCURACY_PAUSES, ACCURACY_VOICES, buildCorpus, type Utterance } from '../../test/accuracy-corpus';
import { engineAlone, type PipelineRun, runPipeline } from '../../test/accuracy-harness';
import { isDebris, score, type ScoreRow } from '../../test/accuracy-score';
import { arg, f0, QUICK } from './common';

export interface AccuracyOptions {
  voices: string[];
  pauses: number[];
  /** How many of ACCURACY_COMMANDS (from the first). */
  commands: number;
  satellites: number;
  /** vad.preRollMs passed to the satellites; undefined: their default. */
  preRollMs?: number;
  satelliteArgs: string[];
  hubArgs: string[];
  engine: boolean;
  pipeline: boolean;
}

const split = (s: string | undefined) => (s ?? '').split(/\s+/).filter(Boolean);

/** Options from the command line: --voices slt,rms --pauses 0,350,700,1200 --commands 24 --satellites 8 --pre-roll-ms 300 --sat-args "..." --hub-args "..." --skip engine|pipeline. */
export function accuracyOptions(): AccuracyOptions {
  const skip = new Set((arg('skip') ?? '').split(','));
  const pre = arg('pre-roll-ms');
  return {
    voices: (arg('voices') ?? ACCURACY_VOICES.join(',')).split(','),
    pauses: (arg('pauses') ?? ACCURACY_PAUSES.join(',')).split(',').map(Number),
    commands: Number(arg('commands') ?? (QUICK ? 4 : ACCURACY_COMMANDS.length)),
    satellites: Number(arg('satellites') ?? 4),
    preRollMs: pre === undefined ? undefined : Number(pre),
    satelliteArgs: split(arg('sat-args')),
    hubArgs: split(arg('hub-args')),
    engine: !skip.has('engine'),
    pipeline: !skip.has('pipeline'),
  };
}

const pc = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : '-');

/** Markdown table: one row per voice x pause, then per voice, per pause, all. */
export function accuracyTable(rows: ScoreRow[]): string {
  const line = (r: ScoreRow) =>
    `| ${r.voice === '*' ? 'all' : r.voice} | ${r.pauseMs === '*' ? 'all' : r.pauseMs} | ${r.utterances} | ${pc(r.engineWer)} | ${pc(r.pipelineWer)} | ${r.engineDebris} | ${r.debris} | ${r.empty} | ${r.wrongWakes} | ${r.earlyEnds} | ${f0(r.medianLatencyMs)} |`;
  return [
    '| voice | pause ms | n | engine-alone WER | pipeline WER | engine-alone debris | pipeline debris | empty | wrong wakes | early ends | median end of speech → final ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(line),
  ].join('\n');
}

/** Up to `max` wrong pipeline transcripts, worst kinds first: debris, early ends, wrong wake counts, other errors. */
export function accuracyExamples(utts: readonly Utterance[], run: PipelineRun, max = 20): string {
  const byId = new Map(utts.map((u) => [u.id, u]));
  const lines: { rank: number; text: string }[] = [];
  for (const r of run.results) {
    const u = byId.get(r.id);
    if (!u || r.text === u.command) continue;
    const tags = [isDebris(u.command, r.text) ? 'debris' : '', r.endedEarly ? 'early end' : '', r.wakes !== 1 ? `${r.wakes} wakes` : ''].filter(Boolean);
    const rank = tags.length ? 0 : 1;
    const where = r.startVsCommandMs === undefined ? '' : `, stream ${f0(r.startVsCommandMs)} ms from command start to ${f0(r.endVsCommandMs ?? Number.NaN)} ms from its end, stop ${r.stopReason}, final ${r.finalReason}`;
    lines.push({ rank, text: `- \`${u.id}\` "${u.command}" → "${r.text}"${tags.length ? ` (**${tags.join(', ')}**)` : ''}${where}; first partial "${r.firstPartial}"` });
  }
  return lines.sort((a, b) => a.rank - b.rank).slice(0, max).map((l) => l.text).join('\n');
}

/** Runs the measurement; returns markdown (table, examples, wall times). */
export async function benchAccuracy(opts: AccuracyOptions = accuracyOptions()): Promise<string> {
  const utts = buildCorpus({ voices: opts.voices, pauses: opts.pauses, commands: ACCURACY_COMMANDS.slice(0, opts.commands) });
  console.log(`accuracy: ${utts.length} utterances (${opts.voices.join(', ')} × pauses ${opts.pauses.join(', ')} ms × ${opts.commands} commands)...`);
  let engine: Map<string, string> | undefined;
  let run: PipelineRun | undefined;
  const notes: string[] = [];
  if (opts.engine) {
    const t0 = Date.now();
    engine = engineAlone(utts);
    notes.push(`engine alone: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  if (opts.pipeline) {
    const satelliteArgs = [...(opts.preRollMs === undefined ? [] : ['--vad-pre-roll-ms', String(opts.preRollMs)]), ...opts.satelliteArgs];
    run = await runPipeline(utts, { satellites: opts.satellites, satelliteArgs, hubArgs: opts.hubArgs });
    notes.push(`pipeline: ${(run.wallMs / 1000).toFixed(0)} s wall with ${opts.satellites} satellites; ${run.unmapped.length} session(s) not placed in their WAV; ${run.hubWarnings.length} hub and ${run.satelliteWarnings.length} satellite warning(s)`);
  }
  const rows = score(utts, { pipeline: run?.results, engine });
  return [
    `Corpus: "hey jarvis" + pause + command, flite voices ${opts.voices.join(', ')}, pink noise 40 dB below the speech; satellite args: \`${[opts.preRollMs === undefined ? '' : `--vad-pre-roll-ms ${opts.preRollMs}`, ...opts.satelliteArgs].filter(Boolean).join(' ') || '(defaults)'}\`; hub args: \`${['--reply-enabled false', ...opts.hubArgs].join(' ')}\`. WER pooled over utterances; debris: transcripts whose first word is not a word of the command (wake-word remains, but also the recognizer's own first-word errors: compare with the engine-alone count).`,
    '',
    accuracyTable(rows),
    '',
    run ? `Wrong pipeline transcripts (up to 20):\n\n${accuracyExamples(utts, run)}` : '',
    run?.hubWarnings.length || run?.satelliteWarnings.length ? `\nWarnings (first 5):\n\n${[...run.hubWarnings, ...run.satelliteWarnings].slice(0, 5).map((l) => `    ${l.slice(0, 300)}`).join('\n')}` : '',
    '',
    `_(${notes.join('; ')})_`,
  ].join('\n');
}
