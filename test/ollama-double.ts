/**
 * A test double of the Ollama server, speaking its real HTTP API on loopback:
 * POST /api/chat streams NDJSON ({model, created_at, message:{role, content},
 * done:false} per token, then a done:true line with durations), 404 with
 * {"error": "model ... not found"} for unknown models, GET /api/version and
 * /api/tags. Behaviours for fault tests: hang before answering, stall
 * mid-stream, drop the connection mid-stream, slow first token. Tools:
 * `tool-call` answers a request that offers tools (and whose last message is
 * not a tool result) with Ollama's tool-call chunk ({message: {role:
 * 'assistant', content: '', tool_calls: [{function: {name, arguments}}]},
 * done: false}) then a done line, and streams `tokens` to the next request
 * (which carries the tool message); `no-tools` answers 400 {"error": "...
 * does not support tools"} to any request with tools, as Ollama does for a
 * model without tool support, and streams `tokens` to one without. Records
 * each request's body (messages, tools) and whether the client aborted it.
 *
 * Also: GET /api/tags lists `models` (settable); POST /api/generate answers
 * {model, created_at, response, done} lines (NDJSON when stream is not
 * false, else one object) with `generateTokens`, and an empty prompt loads
 * the model (Ollama's preload: done_reason "load"); POST /api/embed answers
 * {model, embeddings} with one deterministic 8-dimensional vector per
 * input. Both 404 for a model not in `models`, as Ollama does. Their bodies
 * are kept in `otherRequests`.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Behaviour =
  | { kind: 'stream'; tokens: string[]; delayMs: number; firstDelayMs?: number }
  | { kind: 'hang' }
  | { kind: 'stall'; tokens: string[]; delayMs: number; after: number }
  | { kind: 'drop'; tokens: string[]; delayMs: number; after: number }
  | { kind: 'missing-model' }
  | { kind: 'tool-call'; calls: DoubleToolCall[]; tokens: string[]; delayMs: number; always?: boolean }
  | { kind: 'no-tools'; tokens: string[]; delayMs: number };

export interface DoubleToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

export interface DoubleTool {
  type: string;
  function: { name: string; description?: string; parameters?: { properties?: Record<string, { type?: string; enum?: unknown[]; minimum?: number; maximum?: number }> } };
}

export interface ChatRecord {
  body: {
    model: string;
    messages: { role: string; content: string; tool_calls?: { function: DoubleToolCall }[]; tool_name?: string }[];
    tools?: DoubleTool[];
    stream?: boolean;
    options?: unknown;
    keep_alive?: unknown;
  };
  receivedAt: number;
  firstTokenAt?: number;
  lastTokenAt?: number;
  finishedAt?: number;
  aborted: boolean;
  abortedAt?: number;
}

/** Splits a reply into word-ish tokens the way an LLM streams them ("The", " weather", ...). */
export function tokenize(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

export class OllamaDouble {
  readonly requests: ChatRecord[] = [];
  /** Models the double has (GET /api/tags; generate and embed 404 for others). Chat does not look. */
  models: string[] = ['llama3.2:latest'];
  generateTokens: string[] = tokenize('Paris is the capital of France.');
  readonly otherRequests: { path: string; body: Record<string, unknown>; at: number }[] = [];
  behaviour: Behaviour = { kind: 'stream', tokens: tokenize('Hello there.'), delayMs: 20 };
  private server = http.createServer((req, res) => this.handle(req, res));
  private readonly sockets = new Set<import('node:net').Socket>();
  url = '';

  async start(port = 0): Promise<this> {
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Resolves when the n-th chat request (1-based) has arrived. */
  async waitRequests(n: number, timeoutMs = 10000): Promise<ChatRecord> {
    const end = Date.now() + timeoutMs;
    while (this.requests.length < n) {
      if (Date.now() > end) throw new Error(`Ollama double: expected ${n} requests, got ${this.requests.length}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.requests[n - 1];
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method === 'GET' && req.url === '/api/version') return void res.end(JSON.stringify({ version: '0.6.4-double' }));
    if (req.method === 'GET' && req.url === '/api/tags') return void res.end(JSON.stringify({ models: this.models.map((m) => ({ name: m, model: m, modified_at: '2026-11-01T10:00:00Z', size: 2019393189, digest: 'a80c4f17acd5', details: { format: 'gguf', family: 'llama', parameter_size: '3.2B', quantization_level: 'Q4_K_M' } })) }));
    if (req.method === 'POST' && (req.url === '/api/generate' || req.url === '/api/embed')) return this.other(req, res, req.url);
    if (req.method !== 'POST' || req.url !== '/api/chat') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
      return;
    }
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const rec: ChatRecord = { body: JSON.parse(raw) as ChatRecord['body'], receivedAt: Date.now(), aborted: false };
      this.requests.push(rec);
      res.on('close', () => {
        if (!res.writableFinished) {
          rec.aborted = true;
          rec.abortedAt = Date.now();
        }
      });
      void this.respond(rec, res);
    });
  }

  private has(model: string): boolean {
    const tag = (n: string) => (n.includes(':') ? n : `${n}:latest`);
    return this.models.some((m) => tag(m) === tag(model));
  }

  private other(req: http.IncomingMessage, res: http.ServerResponse, path: string): void {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as { model: string; prompt?: string; stream?: boolean; input?: string | string[] };
      this.otherRequests.push({ path, body, at: Date.now() });
      const json = (code: number, o: unknown) => res.writeHead(code, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(o));
      if (!this.has(body.model)) return json(404, { error: `model "${body.model}" not found, try pulling it first` });
      const created_at = new Date().toISOString();
      if (path === '/api/embed') {
        const inputs = typeof body.input === 'string' ? [body.input] : (body.input ?? []);
        // A vector from the text's bytes: the same text always gives the same vector.
        const vec = (t: string) => Array.from({ length: 8 }, (_, i) => Number((((t.charCodeAt(i % t.length) * (i + 1)) % 97) / 97).toFixed(4)));
        return json(200, { model: body.model, embeddings: inputs.map(vec), total_duration: 1000, load_duration: 100, prompt_eval_count: inputs.length });
      }
      const end = { model: body.model, created_at, response: '', done: true, done_reason: body.prompt ? 'stop' : 'load', total_duration: 1000 };
      if (!body.prompt) return json(200, end);
      if (body.stream === false) return json(200, { ...end, response: this.generateTokens.join('') });
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for (const t of this.generateTokens) res.write(`${JSON.stringify({ model: body.model, created_at, response: t, done: false })}\n`);
      res.end(`${JSON.stringify(end)}\n`);
    });
  }

  private line(model: string, content: string, done: boolean): string {
    const base = { model, created_at: new Date().toISOString(), message: { role: 'assistant', content }, done };
    const extra = done ? { done_reason: 'stop', total_duration: 1_000_000, load_duration: 1000, prompt_eval_count: 10, prompt_eval_duration: 1000, eval_count: 10, eval_duration: 1000 } : {};
    return `${JSON.stringify({ ...base, ...extra })}\n`;
  }

  private async respond(rec: ChatRecord, res: http.ServerResponse): Promise<void> {
    const b = this.behaviour;
    const model = rec.body.model;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    if (b.kind === 'hang') return; // headers never come
    if (b.kind === 'missing-model') {
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: `model "${model}" not found, try pulling it first` }));
      return;
    }
    const offered = (rec.body.tools?.length ?? 0) > 0;
    if (b.kind === 'no-tools' && offered) {
      res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: `registry.ollama.ai/library/${model} does not support tools` }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    if (b.kind === 'tool-call' && offered && (b.always || rec.body.messages.at(-1)?.role !== 'tool')) {
      await sleep(b.delayMs);
      if (rec.aborted) return;
      const calls = b.calls.map((c) => ({ function: { name: c.name, arguments: c.arguments } }));
      res.write(`${JSON.stringify({ model, created_at: new Date().toISOString(), message: { role: 'assistant', content: '', tool_calls: calls }, done: false })}\n`);
      rec.firstTokenAt ??= Date.now();
      res.end(this.line(model, '', true));
      rec.finishedAt = Date.now();
      return;
    }
    const tokens = b.tokens;
    for (let i = 0; i < tokens.length; i++) {
      if (rec.aborted) return;
      await sleep(i === 0 && b.kind === 'stream' && b.firstDelayMs !== undefined ? b.firstDelayMs : b.delayMs);
      if (rec.aborted) return;
      if ((b.kind === 'stall' || b.kind === 'drop') && i === b.after) {
        if (b.kind === 'drop') res.socket?.destroy();
        return; // stall: keep the connection open, send nothing more
      }
      res.write(this.line(model, tokens[i], false));
      rec.firstTokenAt ??= Date.now();
      rec.lastTokenAt = Date.now();
    }
    res.end(this.line(model, '', true));
    rec.finishedAt = Date.now();
  }
}
