/**
 * GET /health: the hub process answers (liveness). GET /ready: 200 only when
 * every part a spoken question needs is usable now, else 503; the body says
 * per part what is wrong and how to fix it. The LLM part really asks Ollama
 * (reachable, and llm.model in its list); with replies off, TTS and the LLM
 * are not needed and say so.
 */
import type { FastifyInstance } from 'fastify';
import { shownUrl } from '../../common/mqtt';
import { VERSION } from '../../common/version';
import type { HttpContext } from './feature';

export interface PartState {
  ok: boolean;
  /** What the part is (engine, model, clients) when it is usable; what is wrong when not. */
  detail: string;
  code?: string;
  fix?: string;
}

async function parts(h: HttpContext): Promise<Record<string, PartState>> {
  const c = h.config;
  const out: Record<string, PartState> = {};
  const broker = h.parts.broker();
  if (broker && !broker.listening) out.broker = { ok: false, detail: 'the embedded broker is not listening', code: 'VOICE_BROKER_FAILED', fix: 'see the hub log; restart the hub' };
  else if (!h.mqtt.connected) out.broker = { ok: false, detail: `the hub is not connected to its broker${broker ? '' : ` at ${shownUrl(c.mqtt.url)}`}`, code: 'VOICE_MQTT_UNREACHABLE', fix: broker ? 'see the hub log' : 'start the broker named by mqtt.url, or check its address and the hub\'s credentials' };
  else out.broker = { ok: true, detail: broker ? `embedded, ${broker.clientCount} clients` : `connected to ${shownUrl(c.mqtt.url)}` };

  const stt = h.parts.stt();
  if (!stt) out.stt = { ok: false, detail: 'speech to text has not started', code: 'VOICE_STT_FAILED', fix: 'see the hub log' };
  else if (stt.accepting === false) out.stt = { ok: false, detail: 'the STT process is being replaced after a crash', code: 'VOICE_ENGINE_CRASHED', fix: 'wait a few seconds; if it repeats, see the hub log' };
  else out.stt = { ok: true, detail: `${stt.engineName}, ${stt.workers} workers, ${stt.liveSessions} sessions decoding` };

  if (!c.reply.enabled) {
    out.tts = { ok: true, detail: 'not needed: replies are off (reply.enabled false)' };
    out.llm = { ok: true, detail: 'not needed: replies are off (reply.enabled false)' };
    return out;
  }
  const tts = h.parts.tts();
  const why = h.parts.ttsError();
  if (tts) out.tts = { ok: true, detail: `${tts.name}, voice ${tts.voice}, ${tts.engine.format.rate} Hz` };
  else out.tts = { ok: false, detail: why?.message ?? 'no text-to-speech engine', code: why?.code ?? 'VOICE_TTS_FAILED', fix: 'install flite (apt-get install flite) or a Piper voice (npm run models), then restart the hub' };

  const llm = await h.parts.llm.check();
  out.llm = llm.ok ? { ok: true, detail: `Ollama at ${c.llm.host} has ${llm.model}` } : { ok: false, detail: llm.message, code: llm.code, fix: llm.fix };
  return out;
}

export function healthRoutes(app: FastifyInstance, h: HttpContext): void {
  const started = Date.now();
  app.get('/health', () => ({ status: 'ok', name: h.config.hub.name, version: VERSION, uptimeS: Math.round((Date.now() - started) / 1000) }));
  app.get('/ready', async (_req, reply) => {
    const p = await parts(h);
    const ready = Object.values(p).every((x) => x.ok);
    return reply.code(ready ? 200 : 503).send({ ready, parts: p });
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await h.metrics.text();
    return reply.type(h.metrics.contentType).send(text);
  });
}
