/**
 * The rest of Ollama's API the hub uses besides chat: the model list (is the
 * configured model there?), loading the model ahead of the first question,
 * generate and embed for the HTTP API. Every call has a deadline and maps
 * failures to the LLM error codes, as chat does (hub/llm/ollama.ts).
 */
import { type GenerateResponse, Ollama } from 'ollama';
import { VoiceError } from '../../common/errors';
import { type LlmSettings, mapError } from './ollama';

export interface ModelInfo {
  name: string;
  size?: number;
  modifiedAt?: string;
  family?: string;
  parameterSize?: string;
  quantization?: string;
}

/** What Ollama said about the configured model: usable, or why not and how to fix it. */
export type ModelCheck = { ok: true; model: string } | { ok: false; code: 'VOICE_LLM_UNREACHABLE' | 'VOICE_LLM_MODEL_MISSING' | 'VOICE_LLM_TIMEOUT' | 'VOICE_LLM_FAILED'; message: string; fix: string };

/** Ollama names a model without a tag as name:latest. */
export function sameModel(listed: string, wanted: string): boolean {
  const tag = (n: string) => (n.includes(':') ? n : `${n}:latest`);
  return tag(listed) === tag(wanted);
}

export class OllamaApi {
  constructor(private readonly s: LlmSettings) {}

  /** A client whose requests give up after ms (or when signal aborts). */
  private client(ms: number, signal?: AbortSignal): Ollama {
    return new Ollama({
      host: this.s.host,
      fetch: (input: string | URL | Request, init?: RequestInit) => {
        const deadline = AbortSignal.timeout(ms);
        const all = [deadline, ...(init?.signal ? [init.signal] : []), ...(signal ? [signal] : [])];
        return fetch(input, { ...init, signal: AbortSignal.any(all) });
      },
    });
  }

  private fail(err: unknown, what: string, ms: number, model = this.s.model): VoiceError {
    if ((err as Error)?.name === 'TimeoutError') return new VoiceError('VOICE_LLM_TIMEOUT', `Ollama at ${this.s.host} did not answer ${what} within ${ms} ms`);
    return mapError(err, { ...this.s, model }, undefined);
  }

  async models(timeoutMs = 3000): Promise<ModelInfo[]> {
    try {
      const r = await this.client(timeoutMs).list();
      return r.models.map((m) => ({ name: m.name, size: m.size, modifiedAt: m.modified_at ? new Date(m.modified_at).toISOString() : undefined, family: m.details?.family, parameterSize: m.details?.parameter_size, quantization: m.details?.quantization_level }));
    } catch (err) {
      throw this.fail(err, 'the model list', timeoutMs);
    }
  }

  /** Is Ollama reachable, and does it have llm.model? */
  async check(timeoutMs = 3000): Promise<ModelCheck> {
    const model = this.s.model;
    try {
      const list = await this.models(timeoutMs);
      if (list.some((m) => sameModel(m.name, model))) return { ok: true, model };
      const have = list.map((m) => m.name).join(', ') || 'none';
      return { ok: false, code: 'VOICE_LLM_MODEL_MISSING', message: `Ollama at ${this.s.host} has no model "${model}" (it has: ${have})`, fix: `run \`ollama pull ${model}\` on the Ollama host, or set llm.model to one it has` };
    } catch (err) {
      const e = err as VoiceError;
      const code = e.code === 'VOICE_LLM_UNREACHABLE' || e.code === 'VOICE_LLM_TIMEOUT' ? e.code : 'VOICE_LLM_FAILED';
      const fix = code === 'VOICE_LLM_FAILED' ? 'check the Ollama server\'s log' : `start Ollama (ollama serve) at ${this.s.host}, or set llm.host to where it runs`;
      return { ok: false, code, message: e.message, fix };
    }
  }

  /** Loads the model and keeps it for llm.keepAlive: an empty generate request. */
  async preload(timeoutMs = 120000): Promise<void> {
    try {
      await this.client(timeoutMs).generate({ model: this.s.model, prompt: '', keep_alive: this.s.keepAlive, stream: false });
    } catch (err) {
      throw this.fail(err, 'loading the model', timeoutMs);
    }
  }

  /** One completion of prompt; streamed: yields each part as Ollama sends it. */
  async *generate(req: { prompt: string; model?: string; system?: string }, signal: AbortSignal): AsyncIterable<GenerateResponse> {
    const ms = this.s.totalTimeoutMs;
    try {
      const stream = await this.client(ms, signal).generate({ model: req.model ?? this.s.model, prompt: req.prompt, system: req.system, options: this.s.options, keep_alive: this.s.keepAlive, stream: true });
      for await (const part of stream) {
        yield part;
        if (part.done) break;
      }
    } catch (err) {
      if (signal.aborted) return; // the client went away
      throw this.fail(err, 'the generate request', ms, req.model);
    }
  }

  async embed(req: { input: string[]; model?: string }): Promise<{ model: string; embeddings: number[][] }> {
    const ms = this.s.totalTimeoutMs;
    try {
      const r = await this.client(ms).embed({ model: req.model ?? this.s.model, input: req.input, keep_alive: this.s.keepAlive });
      return { model: r.model, embeddings: r.embeddings };
    } catch (err) {
      throw this.fail(err, 'the embed request', ms, req.model);
    }
  }
}
