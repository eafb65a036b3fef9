/**
 * Intents (issue 11): the spoken intent suite's commands (test/intents-corpus.ts)
 * in three flite voices (slt and rms, which the test uses, and kal, which no
 * test uses), "hey jarvis" and a 350 ms pause before each, over the noise
 * floor, through real satellites and the hub process, three ways: the
 * defaults (command model, semantic end of speech), semantic end of speech
 * off, and the command model off. Intent accuracy, the word error rate of
 * the transcripts delivered and of the general model on the same sessions,
 * end of the command -> intent published, and what the command model costs
 * the recognizer (in-process, the same audio).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { BYTES_PER_MS } from '../../common/protocol';
import { loadIntents, BUILTIN_INTENTS, userIntentFiles } from '../../hub/intents/load';
import { commandModel } from '../../hub/intents/command-model';
import { PocketsphinxEngine } from '../../hub/stt/pocketsphinx';
import { buildCorpus } from '../../test/accuracy-corpus';
import { CHUNK_SAMPLES, hubPocketsphinxSettings, runPipeline } from '../../test/accuracy-harness';
import { INTENT_COMMANDS, type IntentScore, scoreIntents, userIntentsDir } from '../../test/intents-corpus';
import { arg, f0, f2, median, pctCell, QUICK } from './common';

const pc = (x: number) => `${(x * 100).toFixed(1)} %`;

export async function benchIntents(): Promise<string> {
  const voices = (arg('intent-voices') ?? (QUICK ? 'slt' : 'slt,rms,kal')).split(',');
  const commands = QUICK ? INTENT_COMMANDS.slice(0, 8) : INTENT_COMMANDS;
  const utts = buildCorpus({ voices, pauses: [350], commands: commands.map((c) => c.text) });
  const tmp = fs.mkdtempSync(`${os.tmpdir()}/bench-intents-`);
  const dir = userIntentsDir(tmp);
  const runs: { name: string; args: string[]; satellites: number; voices?: string[] }[] = [
    { name: 'defaults: command model, semantic end of speech (200 ms)', args: [], satellites: 4 },
    { name: 'semantic end of speech off', args: ['--intents-end-of-command-ms', '0'], satellites: 4 },
    { name: 'command model off', args: ['--intents-command-model', 'false'], satellites: 4 },
    { name: `defaults, one satellite at a time (${voices[0]})`, args: [], satellites: 1, voices: [voices[0]] },
    { name: `semantic end of speech off, one satellite at a time (${voices[0]})`, args: ['--intents-end-of-command-ms', '0'], satellites: 1, voices: [voices[0]] },
    { name: `semantic end of speech after 150 ms, one satellite at a time (${voices[0]})`, args: ['--intents-end-of-command-ms', '150'], satellites: 1, voices: [voices[0]] },
  ];
  // --intent-runs 4,5: only those rows (1-based), for a quick look; the table then says which ran.
  const only = arg('intent-runs')?.split(',').map((n) => runs[Number(n) - 1]).filter(Boolean);
  if (only?.length) runs.splice(0, runs.length, ...only);
  const rows: string[] = [];
  const perVoice: string[] = [];
  const wrong: string[] = [];
  for (const r of runs) {
    const mine = r.voices ? utts.filter((u) => r.voices?.includes(u.voice)) : utts;
    const run = await runPipeline(mine, { satellites: r.satellites, hubArgs: ['--intents-enabled', 'true', '--intents-dir', dir, ...r.args] });
    const s = scoreIntents(run.results, commands);
    rows.push(row(r.name, s));
    if (r === runs[0]) {
      if (r.satellites > 1) for (const v of voices) perVoice.push(row(v, scoreIntents(run.results.filter((x) => x.id.startsWith(`${v}-`)), commands)));
      for (const w of s.wrong) wrong.push(`- ${w.id}: said "${w.said}", heard "${w.heard}" -> ${w.intent} ${w.slots}`);
    }
  }
  const cost = decodeCost(utts.filter((u) => u.voice === voices[0]), dir, tmp);
  fs.rmSync(tmp, { recursive: true, force: true });
  const head = '| run | n | intent accuracy | WER delivered | WER general model, same sessions | ended by semantic end of speech | end of command → intent, median ms | p95 ms |\n|---|---|---|---|---|---|---|---|';
  return [
    `${commands.length} commands covering every built-in intent x ${voices.length} voices (${voices.join(', ')}), "hey jarvis" + 350 ms + the command over the noise floor, 4 satellite processes at real-time pace (their sessions overlap: up to four decoded at once), or one (latency alone), the hub process with a small user file of areas and devices. Intent accuracy: the intent's name and every spoken slot right, one session per utterance. "WER general model" is the general model's hearing of the same sessions (the transcript's openText when the command model's words were taken). End of command → intent: from the arrival of the audio frame that carried the command's last sample to the intent (or intent/none) message, at the same subscriber. Goal: ≤ 300 ms median for template commands.`,
    '',
    head,
    ...rows,
    ...(perVoice.length ? ['', 'Per voice, defaults:', '', head.replace('| run |', '| voice |'), ...perVoice] : []),
    '',
    `What the command model costs the recognizer: the ${voices[0]} voice's ${commands.length} commands (their audio alone, ${f0(cost.audioMs / 1000)} s), decoded in-process by one pocketsphinx engine at the hub's settings, fed in 80 ms chunks:`,
    '',
    '| decoders per session | real-time factor | per audio second, ms |',
    '|---|---|---|',
    `| general model | ${f2(cost.general / cost.audioMs)} | ${f0((1000 * cost.general) / cost.audioMs)} |`,
    `| general + command model | ${f2(cost.both / cost.audioMs)} | ${f0((1000 * cost.both) / cost.audioMs)} |`,
    '',
    wrong.length ? `Intents missed in the first run:\n\n${wrong.join('\n')}` : 'No intent missed in the first run.',
  ].join('\n');
}

function row(name: string, s: IntentScore): string {
  return `| ${name} | ${s.utterances} | ${s.correct}/${s.utterances} (${pc(s.correct / s.utterances)}) | ${pc(s.closedWer)} | ${pc(s.openWer)} | ${s.complete} | ${f0(median(s.latencies))} | ${pctCell(s.latencies, 95, f0)} |`;
}

/** Wall time to decode the utterances' command audio with the general model alone, and with the command model beside it. */
function decodeCost(utts: ReturnType<typeof buildCorpus>, dir: string, tmp: string): { audioMs: number; general: number; both: number } {
  const set = loadIntents([BUILTIN_INTENTS, ...userIntentFiles(dir)]);
  const lm = commandModel(set, tmp).lm;
  const time = (commands?: { lm: string }) => {
    const engine = new PocketsphinxEngine(hubPocketsphinxSettings(), commands);
    engine.load();
    engine.warm(1);
    let ms = 0;
    try {
      for (const u of utts) {
        const pcm = new Int16Array(u.engineInput.buffer.slice(u.engineInput.byteOffset, u.engineInput.byteOffset + u.engineInput.length));
        const t0 = performance.now();
        const rec = engine.createRecognizer();
        for (let off = 0; off < pcm.length; off += CHUNK_SAMPLES) rec.accept(pcm.slice(off, off + CHUNK_SAMPLES));
        rec.final();
        rec.free();
        ms += performance.now() - t0;
      }
    } finally {
      engine.unload();
    }
    return ms;
  };
  time(); // warm-up: the first decode of a process pays for page faults
  const audioMs = utts.reduce((n, u) => n + u.engineInput.length / BYTES_PER_MS, 0);
  return { audioMs, general: time(), both: time({ lm }) };
}

