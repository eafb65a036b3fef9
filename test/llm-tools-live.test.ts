/**
 * The LLM's tools against a real Ollama server: runs only when OLLAMA_HOST
 * is set (e.g. OLLAMA_HOST=http://gpu-box:11434 OLLAMA_MODEL=llama3.2, a
 * model with tool support). A hub with intents hears, in real speech, a
 * timer request no template matches; the model must call HassStartTimer,
 * and the hub's timers start it (.../timer started). Without OLLAMA_HOST the
 * test is skipped and says so.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Collector, jsonOf, speakSession, TMP } from './helpers';
import { startHub } from './hub-helpers';
import { userIntentsDir } from './intents-corpus';

const host = process.env.OLLAMA_HOST;
const model = process.env.OLLAMA_MODEL ?? 'llama3.2';
const skip = host ? false : 'OLLAMA_HOST is not set: the live tool-calling test is skipped (set OLLAMA_HOST and optionally OLLAMA_MODEL to run it)';

test(`live Ollama tools: ${model} starts a timer through HassStartTimer`, { skip, timeout: 240_000 }, async (t) => {
  const hub = await startHub(['--intents-enabled', 'true', '--intents-dir', userIntentsDir(TMP), '--llm-host', host as string, '--llm-model', model, '--llm-first-token-timeout-ms', '120000', '--llm-total-timeout-ms', '180000']);
  t.after(() => hub.stop());
  const col = await Collector.create(hub.brokerUrl, ['voice/#']);
  t.after(() => col.end());
  await col.client.publishAsync('voice/satellite/live1/status', JSON.stringify({ state: 'online', protocol: 1, room: 'kitchen' }), { qos: 1, retain: true });
  await new Promise((r) => setTimeout(r, 200));
  const text = 'could you give me a countdown of five minutes';
  assert.equal(hub.intents?.understand(text), undefined, 'no template matches it: the LLM must act');
  const sid = await speakSession(col.client, 'live1', text);
  const ofSession = (kind: string) => (tp: string, p: Buffer) => tp === `voice/satellite/live1/${kind}` && jsonOf({ payload: p }).sessionId === sid;
  const heard = jsonOf(await col.next(ofSession('transcript'), 30000));
  const intent = jsonOf(await col.next(ofSession('intent'), 180000));
  t.diagnostic(`heard "${String(heard.text)}"; the model called ${String(intent.intent)} ${JSON.stringify(intent.slots)}`);
  assert.equal(intent.source, 'llm');
  assert.equal(intent.intent, 'HassStartTimer');
  const started = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/live1/timer' && jsonOf({ payload: p }).event === 'started', 10000));
  assert.equal((started.timer as Record<string, unknown>).totalS, 300);
  const reply = jsonOf(await col.next(ofSession('reply'), 180000));
  t.diagnostic(`the reply: "${String(reply.text)}"`);
  assert.equal(reply.source, 'llm');
});
