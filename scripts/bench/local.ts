/**
 * Section 13 (issue 12): how soon an answer starts, answered by the hub
 * itself (the time, the date, a timer question: no LLM) against the LLM
 * path (a question no template matches, answered by the Ollama test
 * double), through real hub and satellite processes. End of speech (the
 * satellite's VAD: its stop message less the silence after the last
 * speech) -> the first TTS chunk of the answer, at a subscriber.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { wavFromPcm } from '../../common/wav';
import { userIntentsDir } from '../../test/intents-corpus';
import { jsonOf, runNode, TMP } from '../../test/helpers';
import { OllamaDouble, tokenize } from '../../test/ollama-double';
import { noisy, speak, zeros } from '../../test/speech-fixtures';
import { connect, f0, hubProcess, median, pctCell, QUICK, RUNS, sleep } from './common';

const LLM_FIRST_TOKEN_DELAY = 100;
const LLM_TOKEN_DELAY = 30;
/** Answered by the hub (built-in intents; no timer is set, so the last says there is none). */
const LOCAL = ['what time is it', "what's the date today", 'how much time is left'];
/** Match no template: intent/none, then the LLM. */
const LLM = ['tell me a joke about cats', 'who wrote the odyssey', 'why is the sky blue'];

export async function benchLocal(): Promise<string> {
  const runs = QUICK ? 3 : RUNS;
  const double = await new OllamaDouble().start();
  double.behaviour = { kind: 'stream', tokens: tokenize('Here is a short answer. It has two sentences.'), delayMs: LLM_TOKEN_DELAY, firstDelayMs: LLM_FIRST_TOKEN_DELAY };
  const tmp = fs.mkdtempSync(`${os.tmpdir()}/bench-local-`);
  const hub = await hubProcess(['--intents-enabled', 'true', '--intents-dir', userIntentsDir(tmp), '--llm-host', double.url]);
  // One WAV: a warm-up pair (not measured), then `runs` x (a local question, an LLM question), each with time for its answer.
  const said: string[] = [];
  const parts: Buffer[] = [zeros(1500)];
  for (let i = 0; i <= runs; i++) {
    for (const text of [LOCAL[i % LOCAL.length], LLM[i % LLM.length]]) {
      said.push(text);
      parts.push(speak('hey jarvis'), zeros(400), speak(text), zeros(7000));
    }
  }
  const pcm = noisy(Buffer.concat(parts));
  const wav = path.join(TMP, 'bench-local.wav');
  fs.writeFileSync(wav, wavFromPcm(pcm));
  const col = await connect(hub.url);
  const seen: { topic: string; payload: Buffer; at: number }[] = [];
  col.on('message', (topic, payload) => seen.push({ topic, payload: Buffer.from(payload), at: Date.now() }));
  await col.subscribeAsync('voice/satellite/loc/#', { qos: 1 });
  const sat = runNode('satellite/main.js', ['--mqtt-url', hub.url, '--satellite-id', 'loc', '--audio-source', 'wav', '--audio-wav', wav, '--playback-sink', 'file', '--playback-dir', path.join(TMP, 'bench-local-play'), '--follow-up-listen-ms', '0', '--log-level', 'warn']);
  await sleep(pcm.length / 32 + 8000);
  await sat.stop();
  await col.endAsync();
  await hub.proc.stop();
  await double.stop();
  fs.rmSync(tmp, { recursive: true, force: true });

  const times: Record<'intent' | 'llm', number[]> = { intent: [], llm: [] };
  let other = 0;
  const wakes = seen.filter((x) => x.topic === 'voice/satellite/loc/wake').map((x) => String(jsonOf(x).sessionId));
  wakes.forEach((sid, k) => {
    if (k < 2) return; // the warm-up pair
    const stopMsg = seen.find((x) => x.topic === `voice/satellite/loc/audio/${sid}/stop`);
    const reply = seen.find((x) => x.topic === 'voice/satellite/loc/reply' && jsonOf(x).sessionId === sid);
    const chunk = seen.find((x) => x.topic === `voice/satellite/loc/tts/${sid}`);
    const stop = stopMsg && jsonOf(stopMsg);
    const source = reply && String(jsonOf(reply).source);
    const expected = LLM.includes(said[k]) ? 'llm' : 'intent';
    if (!stopMsg || !stop || !chunk || source !== expected || typeof stop.speechEndMs !== 'number' || typeof stop.audioMs !== 'number') {
      other++;
      return;
    }
    times[expected].push(chunk.at - (stopMsg.at - (stop.audioMs - stop.speechEndMs)));
  });
  const row = (name: string, xs: number[]) => `| ${name} | ${xs.length} | ${f0(median(xs))} | ${pctCell(xs, 95, f0)} |`;
  return [
    `Real processes: the hub (embedded aedes, pocketsphinx with the command model, flite, intents with a small user file, the Ollama test double answering after ${LLM_FIRST_TOKEN_DELAY} ms and ${LLM_TOKEN_DELAY} ms per further token) and one satellite (openWakeWord, Silero VAD, vad.silenceMs 400) fed a WAV over the noise floor: one warm-up pair, then ${runs} pairs of "hey jarvis" + a question the hub answers itself (${LOCAL.map((x) => `"${x}"`).join(', ')}, in turn) and one no template matches, which goes to the LLM (${LLM.map((x) => `"${x}"`).join(', ')}). End of speech: the satellite's stop message, less the audio after the last speech it reports; first audio: the answer's first TTS chunk at a subscriber. A session counts only when its answer came from the expected side (${other} did not: a misheard question, or no answer).`,
    '',
    '| answered by | n | end of speech → first audio of the answer, median ms | p95 ms |',
    '|---|---|---|---|',
    row('the hub (built-in intent, no LLM)', times.intent),
    row(`the LLM (test double, first token after ${LLM_FIRST_TOKEN_DELAY} ms; reply.handledWaitMs 150 ms first)`, times.llm),
  ].join('\n');
}
