/** Section 5: engines' real-time factors, in-process. */
import * as path from 'node:path';
import { loadConfig } from '../../common/config';
import { type HubConfig, hubSchema } from '../../config/hub';
import { PocketsphinxEngine } from '../../hub/stt/pocketsphinx';
import { FliteEngine } from '../../hub/tts/flite';
import { PiperEngine } from '../../hub/tts/piper';
import { COMMANDS, wer } from '../../test/helpers';
import { f3, frames, median, MIN_P95, pctCell, ROOT, RUNS } from './common';
import { commandPcms, FAST_ARGS } from './load';

export async function benchEngines(): Promise<string> {
  console.log('engines: real-time factors...');
  const { config } = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: [], env: {} });
  const pcms = commandPcms();
  const sttRtf = (args: string) => {
    const ps = new PocketsphinxEngine({ ...config.stt.pocketsphinx, args });
    ps.load();
    const rtf: number[] = [];
    let errors = 0;
    let words = 0;
    for (let i = 0; i < RUNS; i++) {
      const pcm = pcms[i % pcms.length];
      const rec = ps.createRecognizer();
      const t0 = process.hrtime.bigint();
      for (const f of frames(pcm)) rec.accept(new Int16Array(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength)));
      const text = rec.final().text;
      rtf.push(Number(process.hrtime.bigint() - t0) / 1e6 / (pcm.length / 32));
      rec.free();
      const w = wer(COMMANDS[i % COMMANDS.length], text);
      errors += w.errors;
      words += w.words;
    }
    ps.unload();
    return { rtf, wer: errors / words };
  };
  const sttFull = sttRtf('');
  const sttDefault = sttRtf(config.stt.pocketsphinx.args);
  const sttFast = sttRtf(FAST_ARGS);
  const sentences = ['The kitchen light is now off.', 'It will be sunny and twenty degrees this afternoon.', 'Your timer for ten minutes has started.', 'Playing some music in the living room.', 'Good night, sleep well.'];
  const ttsRtf = async (engine: { synthesize(t: string, s: AbortSignal): AsyncIterable<Buffer>; format: { rate: number } }) => {
    const xs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = process.hrtime.bigint();
      let bytes = 0;
      for await (const c of engine.synthesize(sentences[i % sentences.length], new AbortController().signal)) bytes += c.length;
      xs.push(Number(process.hrtime.bigint() - t0) / 1e6 / ((bytes / 2 / engine.format.rate) * 1000));
    }
    return xs;
  };
  const flite = new FliteEngine('flite', 'slt');
  await flite.start();
  const fl = await ttsRtf(flite);
  const piper = new PiperEngine({ voice: path.join(ROOT, 'test', 'fixtures', 'tiny-piper.onnx'), speaker: 0, lengthScale: 0 });
  await piper.start();
  const pi = await ttsRtf(piper);
  await piper.stop();
  const row = (name: string, xs: number[], note: string) => `| ${name} | ${xs.length} | ${f3(median(xs))} | ${pctCell(xs, 95, f3)} | ${note} |`;
  return [
    `Real-time factor = processing time / audio duration (lower is faster), one core, in-process. \`n\`: runs behind each figure; p95 only where n ≥ ${MIN_P95}.`,
    '',
    '| engine | n | RTF median | p95 | notes |',
    '|---|---|---|---|---|',
    row('STT pocketsphinx, full search (args "")', sttFull.rtf, `WER ${(sttFull.wer * 100).toFixed(1)} % on the five commands; streaming 100 ms chunks + final`),
    row(`STT pocketsphinx, default (args "${config.stt.pocketsphinx.args}")`, sttDefault.rtf, `WER ${(sttDefault.wer * 100).toFixed(1)} %`),
    row('STT pocketsphinx, fast', sttFast.rtf, `WER ${(sttFast.wer * 100).toFixed(1)} %; args "${FAST_ARGS}"`),
    '| STT Vosk | - | - | - | not measured: no Vosk model can be had on this machine (see models/README.md) |',
    row('TTS flite (slt)', fl, 'process spawn included'),
    row('TTS Piper (fixture model)', pi, 'the generated test voice, not a real one: measures phonemization and the inference plumbing only'),
  ].join('\n');
}
