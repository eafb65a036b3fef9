/**
 * Section 15: the command model's decoder settings (stt.pocketsphinx.commandArgs).
 * Every session on a hub with intents has two pocketsphinx decoders hearing
 * the same audio (hub/stt/pocketsphinx.ts): the general model, and the
 * command model built from the intent templates. The spoken intent suite's
 * commands (test/intents-corpus.ts) in three flite voices, the command's
 * audio over the noise floor, decoded in-process by one engine with the
 * hub's general settings, the command decoder with each candidate setting:
 * decode time per audio second, the final pass per session (what a
 * subscriber waits after the last frame is decoded), and how often the
 * command decoder heard the command word for word.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { hubSchema, type HubConfig } from '../../config/hub';
import { loadConfig } from '../../common/config';
import { commandModel } from '../../hub/intents/command-model';
import { BUILTIN_INTENTS, loadIntents, userIntentFiles } from '../../hub/intents/load';
import { textOf } from '../../hub/stt/engine';
import { PocketsphinxEngine } from '../../hub/stt/pocketsphinx';
import { buildCorpus } from '../../test/accuracy-corpus';
import { CHUNK_SAMPLES, hubPocketsphinxSettings } from '../../test/accuracy-harness';
import { wer } from '../../test/helpers';
import { INTENT_COMMANDS, userIntentsDir } from '../../test/intents-corpus';
import { f0, f3, QUICK } from './common';

interface Cost {
  rtf: number;
  finalMs: number;
  exact: number;
  wer: number;
}

export function benchCommandArgs(): Promise<string> {
  return Promise.resolve(commandArgsTable());
}

function commandArgsTable(): string {
  const voices = QUICK ? ['slt'] : ['slt', 'rms', 'kal'];
  const utts = buildCorpus({ voices, pauses: [350], commands: (QUICK ? INTENT_COMMANDS.slice(0, 8) : INTENT_COMMANDS).map((c) => c.text) });
  const tmp = fs.mkdtempSync(`${os.tmpdir()}/bench-command-args-`);
  const lm = commandModel(loadIntents([BUILTIN_INTENTS, ...userIntentFiles(userIntentsDir(tmp))]), tmp).lm;
  const dflt = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: [], env: {} }).config.stt.pocketsphinx.commandArgs;
  const candidates = [...new Set(['', '-fwdflat no -bestpath no', '-fwdflat no', '-ds 2', '-fwdflat no -bestpath no -ds 2', dflt])];
  const decode = (commandArgs: string | null): Cost => {
    const engine = new PocketsphinxEngine({ ...hubPocketsphinxSettings(), commandArgs: commandArgs ?? '' }, commandArgs === null ? undefined : { lm });
    engine.load();
    engine.warm(1);
    let ms = 0;
    let finalMs = 0;
    let audioMs = 0;
    let exact = 0;
    let errors = 0;
    let words = 0;
    try {
      for (const u of utts) {
        const pcm = new Int16Array(u.engineInput.buffer.slice(u.engineInput.byteOffset, u.engineInput.byteOffset + u.engineInput.length));
        audioMs += pcm.length / 16;
        const t0 = performance.now();
        const rec = engine.createRecognizer();
        for (let off = 0; off < pcm.length; off += CHUNK_SAMPLES) rec.accept(pcm.slice(off, off + CHUNK_SAMPLES));
        const t1 = performance.now();
        const f = rec.final();
        finalMs += performance.now() - t1;
        rec.free();
        ms += performance.now() - t0;
        const heard = commandArgs === null ? f.text : textOf(f.commands ?? []);
        if (heard === u.command) exact++;
        const w = wer(u.command, heard);
        errors += w.errors;
        words += w.words;
      }
    } finally {
      engine.unload();
    }
    return { rtf: ms / audioMs, finalMs: finalMs / utts.length, exact, wer: errors / words };
  };
  decode(null); // warm-up: the first decodes of a process pay for page faults
  const general = decode(null);
  const rows = candidates.map((a) => ({ a, c: decode(a) }));
  fs.rmSync(tmp, { recursive: true, force: true });
  const pc = (x: number) => `${(x * 100).toFixed(1)} %`;
  const row = (name: string, c: Cost) => `| ${name} | ${f3(c.rtf)} | ${f0(c.finalMs)} | ${c.exact}/${utts.length} | ${pc(c.wer)} |`;
  return [
    `The spoken intent suite's ${utts.length / voices.length} commands in ${voices.length} flite voices (${voices.join(', ')}; kal is a voice no test uses), the command's audio alone over the noise floor, decoded in-process by one pocketsphinx engine at the hub's general settings ("${hubPocketsphinxSettings().args}"), 80 ms chunks, then the final. Real-time factor: decode time of a whole session (both decoders) per audio second. Final pass: per session, after the last chunk. Word for word: the command decoder's words (the general model's, for the first row) equal to the command.`,
    '',
    '| decoders (stt.pocketsphinx.commandArgs) | real-time factor | final pass ms | word for word | WER |',
    '|---|---|---|---|---|',
    row('general model alone', general),
    ...rows.map(({ a, c }) => row(`general + command model, "${a}"${a === dflt ? ' (the default)' : ''}`, c)),
  ].join('\n');
}
