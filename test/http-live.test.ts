/**
 * The hub's HTTP API against a real Ollama server: runs only when
 * OLLAMA_HOST is set (OLLAMA_MODEL defaults to llama3.2). /ready says the
 * model is there, /api/llm/models lists it, generate answers (whole and
 * streamed), and embeddings give one vector per input. Without OLLAMA_HOST
 * it is skipped and says so.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { IdentityStore } from '../hub/security/identities';
import { stateDirOf } from './credentials';
import { type Proc, startHubProcess } from './helpers';

const host = process.env.OLLAMA_HOST;
const model = process.env.OLLAMA_MODEL ?? 'llama3.2';
const skip = host ? false : 'OLLAMA_HOST is not set: the live HTTP-to-Ollama test is skipped (set OLLAMA_HOST and optionally OLLAMA_MODEL to run it)';

let hub: { proc: Proc; url: string } | undefined;
let http = '';
let auth = '';

before(async () => {
  if (!host) return;
  hub = await startHubProcess(['--llm-host', host, '--llm-model', model, '--llm-check-at-start', 'true', '--llm-first-token-timeout-ms', '120000', '--llm-total-timeout-ms', '180000']);
  http = String((await hub.proc.waitLog((o) => o.msg === 'HTTP server listening')).url);
  const secret = new IdentityStore(stateDirOf(hub.url) as string).open().add('live', 'automation');
  auth = `Basic ${Buffer.from(`live:${secret}`).toString('base64')}`;
});
after(async () => {
  await hub?.proc.stop();
});

test(`live Ollama over HTTP: /ready, models, generate and embeddings with ${model}`, { skip, timeout: 300000 }, async (t) => {
  const ready = (await (await fetch(`${http}/ready`)).json()) as { parts: { llm: { ok: boolean; detail: string } } };
  assert.equal(ready.parts.llm.ok, true, ready.parts.llm.detail);
  const api = (path: string, body?: unknown) => fetch(`${http}${path}`, body === undefined ? { headers: { authorization: auth } } : { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const models = (await (await api('/api/llm/models')).json()) as { available: boolean };
  assert.equal(models.available, true);
  const whole = (await (await api('/api/llm/generate', { prompt: 'Reply with one short sentence: what colour is the sky on a clear day?' })).json()) as { response: string };
  t.diagnostic(`generate: "${whole.response}"`);
  assert.match(whole.response.toLowerCase(), /blue/);
  const streamed = (await (await api('/api/llm/generate', { prompt: 'Say hello in five words.', stream: true })).text()).trim().split('\n');
  assert.ok(streamed.length > 2, 'streamed in parts');
  assert.equal((JSON.parse(streamed.at(-1) as string) as { done: boolean }).done, true);
  const e = (await (await api('/api/embeddings', { input: ['kitchen light', 'bedroom fan'] })).json()) as { embeddings: number[][] };
  assert.equal(e.embeddings.length, 2);
  assert.ok(e.embeddings[0].length > 16, `a real embedding (${e.embeddings[0].length} dimensions)`);
});
