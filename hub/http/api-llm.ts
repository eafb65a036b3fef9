/**
 * The LLM over HTTP, through the hub's Ollama settings (llm.*):
 * POST /api/llm/generate ({prompt, system?, model?, stream?}; streamed as
 * NDJSON, one {response, done} object per line, or one JSON answer),
 * GET /api/llm/models (Ollama's list, and whether llm.model is in it),
 * POST /api/embeddings ({input: text or texts, model?}, Ollama's embed API).
 */
import type { FastifyInstance } from 'fastify';
import { toVoiceError } from '../../common/errors';
import { sameModel } from '../llm/ollama-api';
import { errorBody, type HttpContext, statusOf } from './feature';

interface GenerateBody {
  prompt: string;
  system?: string;
  model?: string;
  stream?: boolean;
}

export function llmRoutes(app: FastifyInstance, h: HttpContext): void {
  const llm = h.parts.llm;

  app.get('/api/llm/models', async () => {
    const models = await llm.models();
    return { configured: h.config.llm.model, available: models.some((m) => sameModel(m.name, h.config.llm.model)), models };
  });

  app.post<{ Body: GenerateBody }>(
    '/api/llm/generate',
    { schema: { body: { type: 'object', required: ['prompt'], additionalProperties: false, properties: { prompt: { type: 'string', minLength: 1 }, system: { type: 'string' }, model: { type: 'string', minLength: 1 }, stream: { type: 'boolean' } } } } },
    async (req, reply) => {
      const ctl = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) ctl.abort();
      });
      const parts = llm.generate(req.body, ctl.signal);
      if (req.body.stream !== true) {
        let response = '';
        let model = req.body.model ?? h.config.llm.model;
        let doneReason: string | undefined;
        for await (const p of parts) {
          response += p.response;
          model = p.model;
          if (p.done) doneReason = p.done_reason;
        }
        return { model, response, done: true, doneReason };
      }
      // Streamed: the first part decides the status; a failure after it ends the stream with an error line.
      const it = parts[Symbol.asyncIterator]();
      const first = await it.next();
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const line = (o: unknown) => reply.raw.write(`${JSON.stringify(o)}\n`);
      try {
        for (let r = first; !r.done; r = await it.next()) line({ model: r.value.model, response: r.value.response, done: r.value.done, ...(r.value.done ? { doneReason: r.value.done_reason } : {}) });
      } catch (err) {
        const e = toVoiceError(err, 'VOICE_LLM_FAILED');
        line({ ...errorBody(e.code, e.message), status: statusOf(e.code), done: true });
      }
      reply.raw.end();
      return reply;
    },
  );

  app.post<{ Body: { input: string | string[]; model?: string } }>(
    '/api/embeddings',
    {
      schema: {
        body: {
          type: 'object',
          required: ['input'],
          additionalProperties: false,
          properties: { input: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', minItems: 1, maxItems: 256, items: { type: 'string', minLength: 1 } }] }, model: { type: 'string', minLength: 1 } },
        },
      },
    },
    async (req) => {
      const input = typeof req.body.input === 'string' ? [req.body.input] : req.body.input;
      return llm.embed({ input, model: req.body.model });
    },
  );
}
