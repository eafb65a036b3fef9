/**
 * Against a real Ollama server: runs only when OLLAMA_HOST is set (e.g.
 * OLLAMA_HOST=http://gpu-box:11434 OLLAMA_MODEL=llama3.2 npm run test:quick).
 * Without it the test is skipped and says so.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OllamaClient } from '../hub/llm/ollama';

const host = process.env.OLLAMA_HOST;
const model = process.env.OLLAMA_MODEL ?? 'llama3.2';
const skip = host ? false : 'OLLAMA_HOST is not set: the live Ollama test is skipped (set OLLAMA_HOST and optionally OLLAMA_MODEL to run it)';

test(`live Ollama: streams a chat reply from ${host ?? '(no host)'} with model ${model}`, { skip }, async (t) => {
  const client = new OllamaClient({
    host: host as string,
    model,
    systemPrompt: '',
    options: { temperature: 0 },
    keepAlive: '5m',
    firstTokenTimeoutMs: 120000,
    idleTimeoutMs: 30000,
    totalTimeoutMs: 180000,
  });
  const deltas: string[] = [];
  const t0 = Date.now();
  let first = 0;
  for await (const d of client.chat([{ role: 'user', content: 'Reply with one short sentence: what colour is the sky on a clear day?' }], new AbortController().signal)) {
    if (typeof d !== 'string') continue;
    if (!first) first = Date.now() - t0;
    deltas.push(d);
  }
  const text = deltas.join('');
  t.diagnostic(`first token after ${first} ms, ${deltas.length} deltas: "${text}"`);
  assert.ok(deltas.length > 1, 'the reply was streamed');
  assert.match(text.toLowerCase(), /blue/);
});

test('live Ollama: an abort ends the stream early', { skip }, async () => {
  const client = new OllamaClient({ host: host as string, model, systemPrompt: '', options: {}, keepAlive: '5m', firstTokenTimeoutMs: 120000, idleTimeoutMs: 30000, totalTimeoutMs: 180000 });
  const ctl = new AbortController();
  let n = 0;
  for await (const delta of client.chat([{ role: 'user', content: 'Count from one to two hundred in words.' }], ctl.signal)) {
    if (delta && ++n === 3) ctl.abort();
  }
  assert.ok(n <= 4, `stopped after ${n} deltas`);
});
