/**
 * pocketsphinx carries its cepstral mean from one utterance to the next. A
 * decode that restarts after the wake word (hub/stt/session-decoder.ts)
 * must start from the mean the session started with, not from one the wake
 * word and the pause just pulled towards the noise (hub/stt/ps-cmn.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../common/config';
import { pcmToInt16 } from '../common/wav';
import { type HubConfig, hubSchema } from '../config/hub';
import { PocketsphinxEngine, PsRecognizer } from '../hub/stt/pocketsphinx';
import { speak } from './helpers';
import { noisy } from './speech-fixtures';

const { config } = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: [], env: {} });

function feed(rec: PsRecognizer, pcm: Buffer): void {
  const all = pcmToInt16(pcm);
  for (let i = 0; i < all.length; i += 1280) rec.accept(all.slice(i, i + 1280));
}

/** A loaded engine for one test, unloaded after it. */
function withEngine(fn: (engine: PocketsphinxEngine) => void): void {
  const engine = new PocketsphinxEngine(config.stt.pocketsphinx);
  engine.load();
  try {
    fn(engine);
  } finally {
    engine.unload();
  }
}

test('pocketsphinx: a restart decodes anew from the cepstral mean the session started with (after a worker\'s first session)', () => {
  withEngine((engine) => {
    // A worker's first session starts from the model's mean; its restart keeps what the pre-roll taught.
    const first = engine.createRecognizer() as PsRecognizer;
    const model = first.cepstralMean;
    feed(first, noisy(Buffer.concat([speak('hey jarvis'), Buffer.alloc(16000 * 2)]), { offsetMs: 9000 }));
    first.restart();
    assert.notDeepEqual(first.cepstralMean, model, 'the first session\'s restart keeps the adapted mean, not -cmninit');
    first.free();

    const rec = engine.createRecognizer();
    assert.ok(rec instanceof PsRecognizer);
    const atStart = rec.cepstralMean;
    assert.ok(atStart, 'the cepstral mean can be read on this platform (feat_t layout recognised)');
    assert.equal(atStart.length, 13);
    // A wake word and a long pause: mostly noise.
    feed(rec, noisy(Buffer.concat([speak('hey jarvis'), Buffer.alloc(16000 * 2 * 3)]), { offsetMs: 0 }));
    rec.restart();
    assert.deepEqual(rec.cepstralMean, atStart);
    // Word times count from the restart, and the command is heard.
    const command = noisy(speak('turn on the kitchen light'), { offsetMs: 5000 });
    feed(rec, command);
    const f = rec.final();
    assert.match(f.text, /kitchen/);
    const last = f.words.at(-1);
    assert.ok(last?.endMs !== undefined && last.endMs <= command.length / 32 + 20, `word times from the restart (last ends at ${last?.endMs} ms of ${command.length / 32})`);
    rec.free();
  });
});

test('pocketsphinx: every session starts from the mean the latest session ended with, on any decoder (a new one too)', () => {
  withEngine((engine) => {
    const first = engine.createRecognizer() as PsRecognizer;
    const modelMean = first.cepstralMean;
    feed(first, noisy(Buffer.concat([speak('open the garage door'), Buffer.alloc(16000)]), { offsetMs: 2000 }));
    first.free();
    const ended = engine.latestMean;
    assert.ok(ended && modelMean);
    assert.notDeepEqual(ended, modelMean, 'the session moved the mean');
    // Two sessions at once: the second gets a decoder that has never decoded anything.
    const a = engine.createRecognizer() as PsRecognizer;
    const b = engine.createRecognizer() as PsRecognizer;
    assert.notEqual(a.decoder, b.decoder);
    assert.deepEqual(a.cepstralMean, ended);
    assert.deepEqual(b.cepstralMean, ended, 'a new decoder starts where the latest session ended, not from the model');
    a.free();
    b.free();
  });
});
