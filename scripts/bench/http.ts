/**
 * Section 14 (issue 14): the hub over HTTP. POST /api/stt/transcribe of a
 * 3.0 s WAV (a command over the room's noise floor), one request at a time
 * after warm-up: the client's wall time and the workers' decode time. Then
 * the dashboard in Debian's Chromium (playwright-core), its Talk button and
 * a fake microphone playing a question: from the moment the audio of the
 * question's last word reached the broker (the frame carrying it, seen by a
 * subscriber) to the final transcript shown on the page.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { wavFromPcm } from '../../common/wav';
import { IdentityStore } from '../../hub/security/identities';
import { stateDirOf } from '../../test/credentials';
import { jsonOf, TMP } from '../../test/helpers';
import { noisy, speak, zeros } from '../../test/speech-fixtures';
import { connect, f0, hubProcess, median, pctCell, QUICK, RUNS, sleep } from './common';

const COMMAND = 'set a timer for ten minutes';
const QUESTION = 'what is the capital of france';

/** Exactly ms of audio: the command after 300 ms, the room's noise to the end. */
function wavOf(text: string, ms: number): Buffer {
  const speech = speak(text);
  const pad = Math.max(0, ms - 300 - speech.length / 32);
  return wavFromPcm(noisy(Buffer.concat([zeros(300), speech, zeros(pad)]).subarray(0, ms * 32)));
}

export async function benchHttp(): Promise<string> {
  const runs = QUICK ? 3 : RUNS;
  const browserRuns = QUICK ? 2 : 8;
  // Intents on, as a hub is by default: the command model decodes beside the general one.
  const hub = await hubProcess(['--reply-enabled', 'false', '--intents-enabled', 'true']);
  const col = await connect(hub.url);
  const seen: { topic: string; payload: Buffer; at: number }[] = [];
  col.on('message', (topic, payload) => seen.push({ topic, payload: Buffer.from(payload), at: Date.now() }));
  await col.subscribeAsync(['voice/hub/status', 'voice/satellite/#'], { qos: 1 });
  await sleep(500);
  const status = [...seen].reverse().find((m) => m.topic === 'voice/hub/status');
  const http = String((jsonOf(status ?? { payload: Buffer.from('{}') }).http as { url?: string } | undefined)?.url);
  const secret = new IdentityStore(stateDirOf(hub.url) as string).open().add('bench', 'automation');
  const auth = `Basic ${Buffer.from(`bench:${secret}`).toString('base64')}`;

  // Transcribe a 3 s WAV.
  const wav = wavOf(COMMAND, 3000);
  const wall: number[] = [];
  const decode: number[] = [];
  const texts = new Map<string, number>();
  for (let i = 0; i < runs + 2; i++) {
    const t0 = Date.now();
    const r = await fetch(`${http}/api/stt/transcribe`, { method: 'POST', headers: { authorization: auth, 'content-type': 'audio/wav' }, body: wav });
    const b = (await r.json()) as { text: string; timings: { decodeMs: number } };
    if (i < 2) continue; // warm-up
    wall.push(Date.now() - t0);
    decode.push(b.timings.decodeMs);
    texts.set(b.text, (texts.get(b.text) ?? 0) + 1);
  }

  // The browser: Talk, a fake microphone, the final on the page.
  const mic = path.join(TMP, 'bench-http-mic.wav');
  fs.writeFileSync(mic, wavFromPcm(noisy(Buffer.concat([zeros(2500), speak(QUESTION), zeros(6000)]))));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${mic}`, '--no-sandbox'] });
  const toPage: number[] = [];
  const heard = new Map<string, number>();
  for (let i = 0; i < browserRuns + 1; i++) {
    const context = await browser.newContext({ httpCredentials: { username: 'bench', password: secret } });
    const page = await context.newPage();
    await page.goto(http);
    await page.waitForSelector('#talk:not([disabled])', { timeout: 15000 });
    const tab = (await page.getAttribute('#talk-card', 'data-satellite')) ?? '';
    const from = seen.length;
    await page.click('#talk');
    await page.waitForFunction("(document.querySelector('#talk-final')?.textContent ?? '').length > 0", undefined, { timeout: 20000 });
    const shownAt = Date.now();
    const text = (await page.textContent('#talk-final')) ?? '';
    await context.close();
    if (i === 0) continue; // warm-up
    // The page may show it before the subscriber has the MQTT copy.
    let final: (typeof seen)[number] | undefined;
    for (let w = 0; w < 40 && !final; w++, await sleep(50)) final = seen.slice(from).find((m) => m.topic === `voice/satellite/${tab}/transcript`);
    const words = ((final ? jsonOf(final).words : undefined) as { endMs: number }[] | undefined) ?? [];
    let bytes = 0;
    const frame = seen.slice(from).filter((m) => m.topic.startsWith(`voice/satellite/${tab}/audio/`) && !m.topic.endsWith('/start') && !m.topic.endsWith('/stop')).find((m) => (bytes += m.payload.length) / 32 >= (words.at(-1)?.endMs ?? Infinity));
    if (frame) toPage.push(shownAt - frame.at);
    heard.set(text, (heard.get(text) ?? 0) + 1);
  }
  await browser.close();
  await col.endAsync();
  await hub.proc.stop();

  const list = (m: Map<string, number>) => [...m].map(([t, n]) => `"${t}" ×${n}`).join(', ');
  return `One hub process (pocketsphinx, 2 workers, intents on: the command model decodes beside the general one, as by default), one request at a time after 2 warm-up requests.

| POST /api/stt/transcribe, 3.0 s WAV | n | median ms | p95 ms |
|---|---|---|---|
| request, client wall time | ${wall.length} | ${f0(median(wall))} | ${pctCell(wall, 95, f0)} |
| decode time in the workers | ${decode.length} | ${f0(median(decode))} | ${pctCell(decode, 95, f0)} |

Heard: ${list(texts)} (said "${COMMAND}").

The dashboard in Debian's Chromium (headless, playwright-core), a new tab per run after one warm-up, Talk pressed, a fake microphone playing "${QUESTION}" (flite, over the noise floor). The time runs from the frame that carried the question's last word reaching the broker to the final transcript on the page: the recognizer's endpoint (it waits for silence after the last word), the final decode, and the way back over the WebSocket.

| browser tab as a satellite | n | median ms | p95 ms |
|---|---|---|---|
| last word at the broker -> final shown on the page | ${toPage.length} | ${f0(median(toPage))} | ${pctCell(toPage, 95, f0)} |

Shown: ${list(heard)}.`;
}
