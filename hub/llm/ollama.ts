/**
 * The LLM client: Ollama's streaming chat through the `ollama` npm client.
 * Every request can be aborted (barge-in, stop) and is bounded by three
 * timeouts: to the first token, between tokens, and in total. Errors are
 * mapped to coded VoiceErrors.
 * Tools (hub/llm/tools.ts) go with a request when given; a tool call comes
 * whole in one chunk. A model without tool support is found at the first
 * chat that sends tools: Ollama answers 400 "... does not support tools";
 * that is logged once (warn) and the request, and every later one, goes
 * without tools.
 */
import { Ollama, type Message, type Tool } from 'ollama';
import { VoiceError } from '../../common/errors';
import type { Logger } from '../../common/log';
import type { HubConfig } from '../../config/hub';

export type LlmSettings = Omit<HubConfig['llm'], 'historyTurns' | 'historyIdleMs' | 'toolRounds' | 'checkAtStart' | 'preload'>;

export type ChatMessage = Message;

/** A function the LLM asked to call, with its arguments as an object. */
export interface LlmToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

export interface LlmClient {
  /** Streams the reply to `messages`, offering `tools`; yields text deltas and tool calls. Throws VoiceError. */
  chat(messages: ChatMessage[], signal: AbortSignal, tools?: Tool[]): AsyncIterable<string | LlmToolCall>;
}

const NO_TOOLS = /does not support tools/i;

/** Small models sometimes send the arguments as a JSON string. */
function argsOf(a: unknown): Record<string, unknown> {
  if (typeof a === 'string') {
    try {
      return argsOf(JSON.parse(a));
    } catch {
      return {};
    }
  }
  return typeof a === 'object' && a !== null && !Array.isArray(a) ? (a as Record<string, unknown>) : {};
}

export function mapError(err: unknown, s: LlmSettings, why: string | undefined): VoiceError {
  if (why === 'first-token') return new VoiceError('VOICE_LLM_TIMEOUT', `Ollama at ${s.host} sent nothing within ${s.firstTokenTimeoutMs} ms (llm.firstTokenTimeoutMs)`);
  if (why === 'idle') return new VoiceError('VOICE_LLM_TIMEOUT', `Ollama at ${s.host} stalled for ${s.idleTimeoutMs} ms mid-reply (llm.idleTimeoutMs)`);
  if (why === 'total') return new VoiceError('VOICE_LLM_TIMEOUT', `Ollama at ${s.host} exceeded ${s.totalTimeoutMs} ms (llm.totalTimeoutMs)`);
  const e = err as { name?: string; status_code?: number; message?: string; cause?: { code?: string } };
  if (e?.name === 'ResponseError' && e.status_code === 404) {
    return new VoiceError('VOICE_LLM_MODEL_MISSING', `Ollama at ${s.host} has no model "${s.model}": run \`ollama pull ${s.model}\` there (${e.message ?? ''})`);
  }
  const code = e?.cause?.code;
  if (code && ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT'].includes(code) && why === undefined) {
    return new VoiceError('VOICE_LLM_UNREACHABLE', `cannot reach Ollama at ${s.host} (${code})`);
  }
  return new VoiceError('VOICE_LLM_FAILED', `Ollama request failed: ${e?.message ?? String(err)}${code ? ` (${code})` : ''}`, undefined, { cause: err });
}

export class OllamaClient implements LlmClient {
  /** False once the model said it does not support tools. */
  toolsSupported = true;

  constructor(
    private readonly s: LlmSettings,
    private readonly log?: Logger,
  ) {}

  async *chat(messages: ChatMessage[], signal: AbortSignal, tools?: Tool[]): AsyncIterable<string | LlmToolCall> {
    const s = this.s;
    if (signal.aborted) return; // stopped before it began: no request
    const ctl = new AbortController();
    let why: 'first-token' | 'idle' | 'total' | undefined;
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number, reason: 'first-token' | 'idle') => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        why = reason;
        ctl.abort();
      }, ms);
    };
    const total = setTimeout(() => {
      why = 'total';
      ctl.abort();
    }, s.totalTimeoutMs);
    const onOuterAbort = () => ctl.abort();
    signal.addEventListener('abort', onOuterAbort, { once: true });
    // Our own fetch carries the abort signal from the very first byte: the client's own abort()
    // only reaches requests whose response has started, and a hung server never starts one.
    const client = new Ollama({
      host: s.host,
      fetch: (input: string | URL | Request, init?: RequestInit) => fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, ctl.signal]) : ctl.signal }),
    });
    arm(s.firstTokenTimeoutMs, 'first-token');
    try {
      const request = (withTools: boolean) => client.chat({ model: s.model, messages, stream: true, options: s.options, keep_alive: s.keepAlive, ...(withTools ? { tools } : {}) });
      const offer = tools !== undefined && tools.length > 0 && this.toolsSupported;
      let stream;
      try {
        stream = await request(offer);
      } catch (err) {
        const e = err as { name?: string; status_code?: number; message?: string };
        if (!offer || e?.name !== 'ResponseError' || e.status_code !== 400 || !NO_TOOLS.test(e.message ?? '')) throw err;
        this.toolsSupported = false;
        this.log?.warn({ code: 'VOICE_LLM_NO_TOOLS', model: s.model, error: e.message }, `the model "${s.model}" does not support tools: it answers in text only and cannot act on devices`);
        stream = await request(false);
      }
      ctl.signal.addEventListener('abort', () => stream.abort(), { once: true });
      for await (const part of stream) {
        arm(s.idleTimeoutMs, 'idle');
        const text = part.message?.content ?? '';
        if (text) yield text;
        for (const c of part.message?.tool_calls ?? []) if (c.function?.name) yield { name: c.function.name, arguments: argsOf(c.function.arguments) };
        if (part.done) break;
      }
    } catch (err) {
      if (signal.aborted) return; // aborted by us (barge-in, stop): not an error
      throw mapError(err, s, why);
    } finally {
      clearTimeout(timer);
      clearTimeout(total);
      signal.removeEventListener('abort', onOuterAbort);
      ctl.abort();
    }
    if (why && !signal.aborted) throw mapError(undefined, s, why);
  }
}
