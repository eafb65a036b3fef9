/**
 * The hub's HTTP server (http.*; docs/http.md): fastify on http.host:port
 * with health, readiness, Prometheus metrics and the REST API. A feature
 * like the others: it gets the hub's context and the parts it serves, and
 * subscribes to no MQTT topic. Every answer that is not 2xx carries a coded
 * body {error: {code, message}}; the codes and their statuses are
 * common/errors.ts's.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { ERROR_CODES, type ErrorCode, type ErrorInfo, VoiceError, isVoiceError } from '../../common/errors';
import type { Feature, HubContext } from '../feature';
import type { OllamaApi } from '../llm/ollama-api';
import type { Stt } from '../stt/pool';
import type { TtsEngine } from '../tts/engine';
import { llmRoutes } from './api-llm';
import { speechRoutes } from './api-speech';
import { healthRoutes } from './health';
import { LiveFeed } from './live';
import { Metrics } from './metrics';
import { TalkBridge } from './talk';

/** The dashboard's files (web/ at the top of the package: plain HTML, CSS and JS, no build step). */
export const WEB_DIR = path.resolve(__dirname, '..', '..', '..', 'web');
/** Open to anyone who can reach the server: what a monitor or a scraper needs. */
const OPEN = new Set(['/health', '/ready', '/metrics']);
/** WebSockets a page opens with a token from GET /api/token (a browser cannot set their headers). */
const TOKEN_PATHS = new Set(['/api/live', '/api/talk']);
const TOKEN_MS = 60000;
const VERIFIED_MS = 60000;

/** What the HTTP API serves, read when a request comes (an engine may be replaced meanwhile). */
export interface HttpParts {
  /** Speech to text, behind admission control (the hub's sessions share it). */
  stt(): Stt | undefined;
  tts(): { engine: TtsEngine; name: string; voice: string } | undefined;
  /** Why replies have no voice, when TTS failed to start. */
  ttsError(): { code: string; message: string } | undefined;
  /** The embedded broker, when the hub runs one. */
  broker(): { listening: boolean; clientCount: number } | undefined;
  /** Whether text is a command of the intent templates (false without intents). */
  isCommand(text: string): boolean;
  /** STT decode time so far, ms (every session, MQTT or HTTP). */
  sttBusyMs(): number;
  llm: OllamaApi;
}

export interface HttpContext extends HubContext {
  parts: HttpParts;
  metrics: Metrics;
}

export function errorBody(code: ErrorCode, message: string): { error: { code: ErrorCode; message: string } } {
  return { error: { code, message } };
}

export function statusOf(code: ErrorCode): number {
  return (ERROR_CODES[code] as ErrorInfo).http ?? 500;
}

/** fastify's own errors (body parsing, limits, schema validation) as our codes. */
function codeOf(err: FastifyError): ErrorCode {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'VOICE_HTTP_TOO_LARGE';
  if (err.statusCode === 404) return 'VOICE_HTTP_NOT_FOUND';
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'VOICE_HTTP_UNSUPPORTED_MEDIA';
  if (err.validation || err.code?.startsWith('FST_ERR_CTP') || (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) || err instanceof SyntaxError) return 'VOICE_HTTP_BAD_REQUEST';
  return 'VOICE_INTERNAL';
}

export class Http implements Feature {
  readonly name = 'http';
  /** The hub's commands to satellites (end, stop) reach browser tabs through it; their reply audio is subscribed per tab. */
  readonly subscriptions: string[];
  readonly metrics: Metrics;
  private readonly live: LiveFeed;
  private readonly talk: TalkBridge;
  /** The tab's satellite topics it must hear: its reply audio, and the hub's commands. */
  readonly handlers: TalkBridge['handlers'];
  private readonly tokens = new Map<string, number>();
  /** Authorization headers that passed, until when (a removed identity's header still works for up to a minute). */
  private readonly verified = new Map<string, number>();
  private app?: FastifyInstance;
  /** http://host:port once listening. */
  url = '';

  constructor(
    private readonly ctx: HubContext,
    private readonly parts: HttpParts,
  ) {
    this.metrics = new Metrics(ctx, parts);
    this.live = new LiveFeed(ctx);
    this.talk = new TalkBridge(ctx);
    this.handlers = this.talk.handlers;
    this.subscriptions = [ctx.topics.sub.allCommands];
  }

  private build(): FastifyInstance {
    const c = this.ctx.config.http;
    // Bodies are taken as sent: no type coercion ("42" is not a number), unknown fields are an error.
    const app = Fastify({ bodyLimit: c.maxBodyBytes, logger: false, ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } } });
    const hctx: HttpContext = { ...this.ctx, parts: this.parts, metrics: this.metrics };
    // Only JSON (and the transcribe route's audio, in its own scope): a text body is 415, not parsed as a string.
    app.removeContentTypeParser('text/plain');
    app.addHook('onRequest', async (req) => {
      const p = req.url.split('?')[0];
      if (OPEN.has(p)) return;
      if (TOKEN_PATHS.has(p)) return this.tokenAuth(req);
      await this.authorize(req);
    });
    app.setErrorHandler((err: FastifyError | VoiceError, req, reply) => {
      const code = isVoiceError(err) ? err.code : codeOf(err);
      const status = isVoiceError(err) ? statusOf(code) : code === 'VOICE_INTERNAL' ? 500 : statusOf(code);
      if (status >= 500) this.ctx.log.warn({ code, method: req.method, url: req.url, err: err.message }, 'HTTP request failed');
      if (code === 'VOICE_HTTP_UNAUTHORIZED') void reply.header('www-authenticate', 'Basic realm="voice-hub", charset="UTF-8"');
      void reply.code(status).send(errorBody(code, err.message));
    });
    app.setNotFoundHandler((req, reply) => {
      void reply.code(404).send(errorBody('VOICE_HTTP_NOT_FOUND', `no endpoint ${req.method} ${req.url.split('?')[0]}; docs/http.md lists them`));
    });
    void app.register(fastifyWebsocket, { options: { maxPayload: 1 << 20 } });
    void app.register(async (scope) => {
      healthRoutes(scope, hctx);
      speechRoutes(scope, hctx);
      llmRoutes(scope, hctx);
      scope.get('/api/satellites', () => ({ satellites: this.ctx.registry.all() }));
      scope.get('/api/token', () => {
        const token = randomBytes(18).toString('base64url');
        const now = Date.now();
        for (const [t, exp] of this.tokens) if (exp < now) this.tokens.delete(t);
        this.tokens.set(token, now + TOKEN_MS);
        return { token, expiresInS: TOKEN_MS / 1000 };
      });
      this.live.routes(scope);
      this.talk.routes(scope);
      await scope.register(fastifyStatic, { root: WEB_DIR, prefix: '/' });
    });
    return app;
  }

  /**
   * The live and talk WebSockets: only a one-use token from GET /api/token (within a minute), never Basic
   * auth, and only from a page of this server: a browser would send its cached Basic credentials on a
   * WebSocket opened by any other site, and such a site cannot read a token.
   */
  private tokenAuth(req: FastifyRequest): void {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}` && origin !== `https://${req.headers.host}`) throw new VoiceError('VOICE_HTTP_FORBIDDEN', `a page of ${origin} may not open the hub's WebSockets`);
    const token = (req.query as { token?: string }).token;
    const exp = token === undefined ? undefined : this.tokens.get(token);
    if (token !== undefined) this.tokens.delete(token);
    if (exp === undefined || exp < Date.now()) throw new VoiceError('VOICE_HTTP_UNAUTHORIZED', 'the WebSockets need ?token= from GET /api/token, once, within a minute');
  }

  /** HTTP Basic auth with an identity of the hub's store: role automation, or the hub's own. A header that passed is trusted for a minute (the check is a deliberately slow hash). */
  private async authorize(req: FastifyRequest): Promise<void> {
    const h = req.headers.authorization ?? '';
    const now = Date.now();
    if ((this.verified.get(h) ?? 0) > now) return;
    const m = /^Basic\s+(\S+)$/i.exec(h);
    if (!m) throw new VoiceError('VOICE_HTTP_UNAUTHORIZED', 'the hub\'s HTTP API and dashboard need HTTP Basic auth with an identity of role automation (voice-hub automation add <name>)');
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const name = colon < 0 ? decoded : decoded.slice(0, colon);
    const secret = colon < 0 ? '' : decoded.slice(colon + 1);
    const who = await this.ctx.identities.verify(name, secret);
    if (!who) throw new VoiceError('VOICE_HTTP_UNAUTHORIZED', `wrong name or secret for "${name}"`);
    if (who.role === 'satellite') throw new VoiceError('VOICE_HTTP_FORBIDDEN', `"${name}" is a satellite; the API needs an identity of role automation`);
    for (const [k, exp] of this.verified) if (exp <= now) this.verified.delete(k);
    if (this.verified.size < 256) this.verified.set(h, now + VERIFIED_MS);
  }

  async start(): Promise<void> {
    const c = this.ctx.config.http;
    this.metrics.start();
    this.live.start();
    this.talk.start();
    const app = this.build();
    try {
      await app.listen({ host: c.host, port: c.port });
    } catch (err) {
      throw new VoiceError('VOICE_HTTP_FAILED', `the HTTP server cannot listen on ${c.host}:${c.port}: ${(err as Error).message}`, undefined, { cause: err });
    }
    this.app = app;
    const a = app.server.address();
    const port = typeof a === 'object' && a ? a.port : c.port;
    const host = c.host.includes(':') ? `[${c.host}]` : c.host;
    this.url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;
    this.ctx.log.info({ url: this.url, host: c.host, port }, 'HTTP server listening');
  }

  async stop(): Promise<void> {
    this.metrics.stop();
    this.live.stop();
    this.talk.stop();
    await this.app?.close();
  }
}
