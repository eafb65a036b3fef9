/**
 * The dashboard in real headless Chromium (Debian's /usr/bin/chromium,
 * driven by playwright-core), against a real hub, a real MQTT satellite
 * process and the Ollama double. Chromium's fake microphone plays a flite
 * WAV of a question over a noise floor: the tab, as a browser satellite,
 * streams it to the hub through the same session pipeline as any satellite;
 * the transcript appears on the page, the reply audio element plays it to
 * the end, the hub gets the tab's played, and the satellites list shows
 * the MQTT satellite beside the tab. DASHBOARD_SCREENSHOT=<file.png> saves
 * a screenshot taken during the session.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { wavFromPcm } from '../common/wav';
import { IdentityStore } from '../hub/security/identities';
import { stateDirOf } from './credentials';
import { Collector, type Proc, TMP, jsonOf, runNode, silence, speak, startHubProcess, wer } from './helpers';
import { OllamaDouble, tokenize } from './ollama-double';
import { noisy } from './speech-fixtures';

const CHROMIUM = '/usr/bin/chromium';
const QUESTION = 'what is the capital of france';
const ANSWER = 'Paris is the capital of France.';
/** Quiet before the question in the fake microphone: the page asks for the microphone after the click, and Chromium plays the file from when it opens it. */
const LEAD_MS = 2500;

let hub: { proc: Proc; url: string };
let col: Collector;
let sat: Proc;
let ollama: OllamaDouble;
let browser: Browser;
let http = '';
let secret = '';

before(async () => {
  ollama = await new OllamaDouble().start();
  ollama.behaviour = { kind: 'stream', tokens: tokenize(ANSWER), delayMs: 10 };
  hub = await startHubProcess(['--llm-host', ollama.url]);
  col = await Collector.create(hub.url, ['voice/#']);
  http = String((await hub.proc.waitLog((o) => o.msg === 'HTTP server listening')).url);
  secret = new IdentityStore(stateDirOf(hub.url) as string).open().add('dashboard', 'automation');
  // An MQTT satellite, a real process, listening to a silent room.
  const quiet = path.join(TMP, 'dash-quiet.wav');
  fs.writeFileSync(quiet, wavFromPcm(noisy(silence(30000))));
  sat = runNode('satellite/main.js', ['--mqtt-url', hub.url, '--satellite-id', 'kitchen-pi', '--satellite-room', 'kitchen', '--audio-source', 'wav', '--audio-wav', quiet, '--playback-sink', 'file', '--playback-dir', path.join(TMP, 'dash-play')]);
  await sat.waitLog((o) => o.msg === 'satellite listening', 60000);
  // The question, then a long quiet tail (Chromium loops the file; the hub's endpoint ends the session first).
  const q = speak(QUESTION);
  const mic = path.join(TMP, 'dash-mic.wav');
  fs.writeFileSync(mic, wavFromPcm(noisy(Buffer.concat([silence(LEAD_MS), q, silence(6000)]))));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${mic}`, '--autoplay-policy=no-user-gesture-required', '--no-sandbox'],
  });
});
after(async () => {
  await browser?.close();
  await sat?.stop();
  await col?.end();
  await hub?.proc.stop();
  await ollama?.stop();
});

test('the dashboard needs credentials', async () => {
  for (const p of ['/', '/dashboard.js', '/api/satellites']) {
    const r = await fetch(`${http}${p}`);
    assert.equal(r.status, 401, p);
    assert.match(r.headers.get('www-authenticate') ?? '', /^Basic/, p);
  }
});

test('talking from the page: the transcript appears, the reply plays, and the satellites list shows both kinds', async (t) => {
  const context = await browser.newContext({ httpCredentials: { username: 'dashboard', password: secret }, viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const logs: string[] = [];
  let tabId: string | null = null;
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  try {
    await page.goto(http);
    await page.waitForSelector('#conn.on', { timeout: 10000 });
    await page.waitForSelector('#talk:not([disabled])', { timeout: 10000 });
    tabId = await page.getAttribute('#talk-card', 'data-satellite');
    assert.match(tabId ?? '', /^browser-[0-9a-f]{6}$/);
    // Both satellites in the list: the MQTT one and this tab (kind browser).
    await page.waitForSelector('#satellites tr[data-satellite="kitchen-pi"]', { timeout: 10000 });
    await page.waitForSelector(`#satellites tr[data-satellite="${tabId}"]`, { timeout: 10000 });
    assert.equal(await page.textContent(`#satellites tr[data-satellite="${tabId}"] .kind`), 'browser');
    assert.equal(await page.textContent('#satellites tr[data-satellite="kitchen-pi"] td:nth-child(2)'), 'kitchen');

    const from = col.messages.length;
    const clicked = Date.now();
    await page.click('#talk');
    const wake = jsonOf(await col.next((tp) => tp === `voice/satellite/${tabId}/wake`, 10000, from));
    const sid = String(wake.sessionId);
    // The hub publishes the tab's transcript like any satellite's.
    const final = jsonOf(await col.next((tp) => tp === `voice/satellite/${tabId}/transcript`, 20000, from));
    assert.equal(final.sessionId, sid);
    await page.waitForFunction("(document.querySelector('#talk-final')?.textContent ?? '').length > 0", undefined, { timeout: 10000 });
    const shownAt = Date.now();
    const heard = (await page.textContent('#talk-final')) ?? '';
    if (process.env.DASHBOARD_AUDIO) fs.writeFileSync(process.env.DASHBOARD_AUDIO, wavFromPcm(Buffer.concat(col.messages.slice(from).filter((m) => m.topic === `voice/satellite/${tabId}/audio/${sid}`).map((m) => m.payload))));
    // Browser to transcript: from the frame that carried the question's last word to the broker, to the final on the page.
    const words = (final.words as { endMs: number }[] | undefined) ?? [];
    const frames = col.messages.slice(from).filter((m) => m.topic === `voice/satellite/${tabId}/audio/${sid}`);
    let sent = 0;
    const lastWordAt = frames.find((f) => (sent += f.payload.length) / 32 >= (words.at(-1)?.endMs ?? Infinity))?.at;
    t.diagnostic(`page shows "${heard}" ${shownAt - clicked} ms after the click; ${lastWordAt === undefined ? '?' : shownAt - lastWordAt} ms after the audio of its last word reached the broker`);
    assert.equal(heard, final.text);
    assert.ok(wer(QUESTION, heard).rate <= 0.4, heard);

    // The reply: its text, then its audio played to the end in the page, and the hub told so.
    await page.waitForFunction(`document.querySelector('#talk-reply')?.textContent === ${JSON.stringify(ANSWER)}`, undefined, { timeout: 15000 });
    if (process.env.DASHBOARD_SCREENSHOT) await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT, fullPage: true });
    await page.waitForSelector(`#reply-audio[data-session="${sid}"][data-played="true"]`, { timeout: 20000 });
    const dur = Number(await page.evaluate("document.querySelector('#reply-audio').duration"));
    assert.ok(dur > 1, `the reply audio is the spoken answer (${dur} s)`);
    const played = jsonOf(await col.next((tp) => tp === `voice/satellite/${tabId}/played`, 10000, from));
    assert.equal(played.sessionId, sid);
    assert.equal(played.reason, 'done');
    assert.ok(Number(played.playedMs) >= dur * 1000 - 300, `played ${String(played.playedMs)} ms of ${dur} s`);

    // The live feed showed the final and the reply; the sparkline got the session's latencies.
    assert.ok((await page.locator('#events li.final-event .text', { hasText: heard }).count()) >= 1, 'the final is in the live feed');
    assert.ok((await page.locator('#events li .text', { hasText: ANSWER }).count()) >= 1, 'the reply is in the live feed');
    assert.match((await page.textContent('#latency [data-kind="speechToFinal"] .value')) ?? '', /\d+ ms/);

    // A phone: the page still fits its width.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    assert.ok(overflow <= 0, `no horizontal scrolling on a phone (${overflow} px too wide)`);
  } catch (err) {
    t.diagnostic(`page console:\n${logs.join('\n')}`);
    throw err;
  }
  const closedFrom = col.messages.length;
  await context.close();
  // The tab is gone: its satellite is removed (retained status cleared).
  await col.next((tp, p) => tp === `voice/satellite/${tabId}/status` && p.length === 0, 10000, closedFrom);
});
