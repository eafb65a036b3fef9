/** Section 1: latency of one interaction through real hub and satellite processes. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { wavFromPcm } from '../../common/wav';
import { COMMANDS, jsonOf, runNode, silence, speak, TMP, wer } from '../../test/helpers';
import { OllamaDouble, tokenize } from '../../test/ollama-double';
import { connect, f0, hubProcess, median, MIN_P95, p95, pctCell, RUNS, sleep } from './common';

const LLM_FIRST_TOKEN_DELAY = 100;
const LLM_TOKEN_DELAY = 30;

export async function benchLatency(): Promise<string> {
  console.log(`latency: 1 warm-up + ${RUNS} interactions through real hub and satellite processes...`);
  const double = await new OllamaDouble().start();
  double.behaviour = { kind: 'stream', tokens: tokenize('Sure. It is done, and the house is quiet now.'), delayMs: LLM_TOKEN_DELAY, firstDelayMs: LLM_FIRST_TOKEN_DELAY };
  const hub = await hubProcess(['--llm-host', double.url]);
  // One WAV: a warm-up interaction (index 0, not measured), then RUNS x ("hey jarvis", a command, time for the reply to play).
  const parts: Buffer[] = [silence(1500)];
  for (let i = 0; i <= RUNS; i++) parts.push(speak('hey jarvis'), silence(400), speak(COMMANDS[i % COMMANDS.length]), silence(6500));
  const wav = path.join(TMP, 'bench-latency.wav');
  fs.writeFileSync(wav, wavFromPcm(Buffer.concat(parts)));
  const col = await connect(hub.url);
  const seen: { topic: string; payload: Buffer; at: number }[] = [];
  col.on('message', (topic, payload) => seen.push({ topic, payload: Buffer.from(payload), at: Date.now() }));
  await col.subscribeAsync('voice/satellite/lat/#', { qos: 1 });
  const sat = runNode('satellite/main.js', ['--mqtt-url', hub.url, '--satellite-id', 'lat', '--audio-source', 'wav', '--audio-wav', wav, '--playback-sink', 'file', '--playback-dir', path.join(TMP, 'bench-play'), '--follow-up-listen-ms', '0', '--log-level', 'warn']);
  const expectEnd = Date.now() + (Buffer.concat(parts).length / 32) + 15000;
  const rows: Record<string, number[]> = { wakeToFirstFrame: [], speechEndToFinal: [], finalToFirstToken: [], firstSentenceToAudio: [], audioToPlayback: [], finalToFirstAudio: [] };
  const push = (key: string, x: number) => {
    if (Number.isFinite(x)) rows[key]?.push(x);
  };
  const wers: number[] = [];
  const done = new Set<string>();
  let incomplete = 0;
  while (Date.now() < expectEnd && done.size < RUNS + 1) {
    await sleep(500);
    // Interaction k is the k-th wake: the WAV's order, so k says which command was spoken (0 = warm-up).
    const wakes = seen.filter((x) => x.topic === 'voice/satellite/lat/wake').map((x) => String(jsonOf(x).sessionId));
    for (const m of seen.filter((x) => x.topic === 'voice/satellite/lat/played')) {
      const p = jsonOf(m);
      const sid = String(p.sessionId);
      if (done.has(sid)) continue;
      done.add(sid);
      const k = wakes.indexOf(sid);
      if (k <= 0) continue; // the warm-up interaction (or a session that did not start with a wake)
      const wake = seen.find((x) => x.topic === 'voice/satellite/lat/wake' && jsonOf(x).sessionId === sid);
      const firstFrame = seen.find((x) => x.topic === `voice/satellite/lat/audio/${sid}`);
      const stopMsg = seen.find((x) => x.topic === `voice/satellite/lat/audio/${sid}/stop`);
      const fin = seen.find((x) => x.topic === 'voice/satellite/lat/transcript' && jsonOf(x).sessionId === sid);
      const reply = seen.find((x) => x.topic === 'voice/satellite/lat/reply' && jsonOf(x).sessionId === sid);
      const firstChunk = seen.find((x) => x.topic === `voice/satellite/lat/tts/${sid}`);
      if (!wake || !firstFrame || !stopMsg || !fin || !reply || !firstChunk) {
        incomplete++;
        continue;
      }
      const stop = jsonOf(stopMsg);
      const t = jsonOf(reply).timings as Record<string, number>;
      push('wakeToFirstFrame', firstFrame.at - Date.parse(String(jsonOf(wake).time)));
      if (typeof stop.speechEndMs === 'number') push('speechEndToFinal', fin.at - (stopMsg.at - ((stop.audioMs as number) - stop.speechEndMs)));
      push('finalToFirstToken', (t.transcriptToFirstTokenMs ?? Number.NaN) - (t.handledWaitMs ?? 0) - LLM_FIRST_TOKEN_DELAY);
      push('firstSentenceToAudio', t.firstSentenceToFirstAudioMs ?? Number.NaN);
      push('finalToFirstAudio', firstChunk.at - fin.at);
      if (typeof p.startedAt === 'string') push('audioToPlayback', Date.parse(p.startedAt) - firstChunk.at);
      const w = wer(COMMANDS[k % COMMANDS.length], String(jsonOf(fin).text)).rate;
      if (Number.isFinite(w)) wers.push(w);
    }
  }
  await sat.stop();
  await col.endAsync();
  await hub.proc.stop();
  await double.stop();
  const n = rows.speechEndToFinal?.length ?? 0;
  const silenceMs = 400;
  const line = (name: string, xs: number[], note: string) => `| ${name} | ${xs.length} | ${f0(median(xs))} | ${pctCell(xs, 95, f0)} | ${note} |`;
  const atP95 = (xs: number[], target: number) => (xs.length < MIN_P95 ? `not judged at p95 (n < ${MIN_P95})` : p95(xs) <= target ? 'met at p95' : 'missed at p95');
  const endToFinal = rows.speechEndToFinal ?? [];
  return [
    `Real processes: hub (embedded aedes, pocketsphinx, flite, Ollama test double) and one satellite (openWakeWord, Silero VAD) fed a WAV of "hey jarvis" + five flite-spoken commands in turn, at real-time pace: one warm-up interaction (not counted), then ${RUNS}; ${n} gave a complete set of timings${incomplete ? ` (${incomplete} did not)` : ''}. The test double waits ${LLM_FIRST_TOKEN_DELAY} ms before the first token and ${LLM_TOKEN_DELAY} ms before each further one; that first delay is subtracted below. Timestamps come from the one machine clock shared by all processes; "at the hub" is measured at a subscriber on the hub's broker. The satellite's VAD needs vad.silenceMs = ${silenceMs} ms of silence to end an utterance. \`n\`: samples behind each figure; p95 only where n ≥ ${MIN_P95}.`,
    '',
    '| step | n | median ms | p95 ms | notes |',
    '|---|---|---|---|---|',
    line('wake detected → first audio frame at the hub', rows.wakeToFirstFrame ?? [], 'pre-roll is sent at once'),
    line('end of speech → final transcript published', endToFinal, `target ≤ ${silenceMs + 150} (vad.silenceMs + 150): ${median(endToFinal) <= silenceMs + 150 ? 'met at the median' : 'missed at the median'}, ${atP95(endToFinal, silenceMs + 150)}`),
    line('final transcript → first LLM token', rows.finalToFirstToken ?? [], `reply.handledWaitMs (150 ms) and the double's ${LLM_FIRST_TOKEN_DELAY} ms subtracted: the hub's own overhead`),
    line('first complete sentence → first TTS chunk published', rows.firstSentenceToAudio ?? [], `flite; target ≤ 150: ${atP95(rows.firstSentenceToAudio ?? [], 150)}`),
    line('first TTS chunk → playback started on the satellite', rows.audioToPlayback ?? [], 'a sentence\'s chunks arrive together, so the 150 ms jitter buffer (playback.bufferMs) fills at once'),
    line('final transcript → first TTS chunk (end to end)', rows.finalToFirstAudio ?? [], `includes handled wait 150 ms and the double's ${LLM_FIRST_TOKEN_DELAY} ms + 1 token × ${LLM_TOKEN_DELAY} ms`),
    '',
    `Transcript word error rate over these runs (n = ${wers.length}): median ${(median(wers) * 100).toFixed(0)} %, mean ${((wers.reduce((a, b) => a + b, 0) / Math.max(1, wers.length)) * 100).toFixed(1)} %.`,
  ].join('\n');
}
