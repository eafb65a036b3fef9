/**
 * Speech over HTTP: POST /api/stt/transcribe (a WAV or raw PCM body -> the
 * text, its timed words, the engine and timings), POST /api/tts/synthesize
 * ({text, voice?} -> a WAV), GET /api/tts/voices. Transcription goes through
 * the same admission control and workers as the satellites' sessions.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { VoiceError } from '../../common/errors';
import { wavFromPcm } from '../../common/wav';
import { type Word, textOf } from '../stt/engine';
import { commandsWin } from '../sessions/commands';
import type { Stt } from '../stt/pool';
import { RAW_TYPES, toPcm16k, WAV_TYPES } from './audio-in';
import type { HttpContext } from './feature';

const CHUNK = 3200; // 100 ms, as a satellite streams
/**
 * Most audio handed to the decoder ahead of what it has decoded (its partials say how far it got, at least every
 * second of audio), bytes: 1.5 s. A whole file sent at once would queue in its worker ahead of the satellites'
 * live audio (70 s of it held a satellite's final back 5.7 s on a one-worker hub: test/http.test.ts); paced, a
 * satellite's frames wait behind at most this much. It also keeps the transcription under admission control's lag budget
 * (hub/stt/admission.ts), so it does not stop wakes being admitted past the real-time limit.
 */
const AHEAD_BYTES = 48000;

interface Transcribed {
  words: Word[];
  /** The command model's words, where the engine decodes with one. */
  commands?: Word[];
  confidence?: number;
  decodeMs: number;
}

/**
 * Feeds pcm to a recognizer of stt as one session and waits for its final. A session admission control
 * queues waits at most queueMs for a decoder, then VOICE_BUSY: its audio is fed as it is decoded, so it has
 * not finished, and the queue's own wait (counted from a session's finish) would not start.
 */
function transcribe(stt: Stt, pcm: Buffer, timeoutMs: number, queueMs: number, gone: AbortSignal): Promise<Transcribed> {
  return new Promise((resolve, reject) => {
    const sid = `http-${randomUUID()}`;
    const t: { timer?: NodeJS.Timeout } = {}; // set below; a callback may come before (an error at open)
    let sent = 0;
    let decoded = 0;
    const pump = () => {
      for (; sent < pcm.length && sent - decoded < AHEAD_BYTES; sent += CHUNK) h.audio(pcm.subarray(sent, sent + CHUNK));
      if (sent >= pcm.length && !finished) {
        finished = true;
        h.finish();
      }
    };
    let finished = false;
    const h = stt.open(sid, {
      partial: (_words, _endpoint, audioMs) => {
        decoded = Math.max(decoded, audioMs * 32);
        if (!finished) pump();
      },
      final: (words, confidence, decodeMs, commands) => {
        clearTimeout(t.timer);
        resolve({ words, confidence, decodeMs, commands });
      },
      error: (err) => {
        clearTimeout(t.timer);
        reject(err);
      },
    });
    t.timer = setTimeout(() => {
      finished = true; // a partial still on its way feeds nothing more
      h.abort();
      reject(new VoiceError('VOICE_STT_TIMEOUT', `no transcript within ${timeoutMs} ms`));
    }, timeoutMs);
    // The client went away: its decode stops, and the worker is free for the satellites.
    gone.addEventListener(
      'abort',
      () => {
        clearTimeout(t.timer);
        finished = true;
        h.abort();
        reject(new VoiceError('VOICE_HTTP_BAD_REQUEST', 'the client closed the request'));
      },
      { once: true },
    );
    pump();
    if (h.queued?.()) {
      setTimeout(() => {
        if (!h.queued?.()) return; // admitted meanwhile (or aborted)
        clearTimeout(t.timer);
        finished = true;
        h.abort();
        reject(new VoiceError('VOICE_BUSY', `no decoder came free within stt.queueMs (${queueMs} ms); transcription refused`));
      }, queueMs).unref();
    }
  });
}

function mediaType(header: string | undefined): { type: string; params: string } {
  const [type, ...rest] = (header ?? '').split(';');
  return { type: type.trim().toLowerCase(), params: rest.length ? `;${rest.join(';')}` : '' };
}

/** Audio only: in its own scope, so JSON and text bodies are refused (415) before they are parsed. */
function transcribeRoute(app: FastifyInstance, h: HttpContext): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
    const { type } = mediaType(req.headers['content-type']);
    if (WAV_TYPES.includes(type) || RAW_TYPES.includes(type)) return done(null, body);
    done(new VoiceError('VOICE_HTTP_UNSUPPORTED_MEDIA', `Content-Type "${type || 'none'}": send audio/wav, or raw 16 kHz mono s16le PCM as audio/L16;rate=16000 or application/octet-stream`), undefined);
  });
  app.post('/api/stt/transcribe', async (req, reply) => {
    const started = Date.now();
    const gone = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) gone.abort();
    });
    const { type, params } = mediaType(req.headers['content-type']);
    if (!Buffer.isBuffer(req.body)) throw new VoiceError('VOICE_HTTP_BAD_AUDIO', 'no audio in the request body');
    const pcm = toPcm16k(req.body, type, params);
    const stt = h.parts.stt();
    if (!stt) throw new VoiceError('VOICE_STT_FAILED', 'speech to text has not started');
    const audioMs = Math.round(pcm.length / 32);
    // As long as a slow worker could need, plus the queue: never an answer that hangs.
    const r = await transcribe(stt, pcm, h.config.session.finalTimeoutMs + h.config.stt.queueMs + audioMs * 2, h.config.stt.queueMs, gone.signal);
    // The rule of a satellite's session (hub/sessions/commands.ts).
    const useCommands = r.commands !== undefined && commandsWin(r.words, r.commands, textOf(r.words), textOf(r.commands), (t) => h.parts.isCommand(t));
    const chosen = useCommands && r.commands ? r.commands : r.words;
    const words = chosen.map((w) => ({ word: w.word, startMs: w.startMs, endMs: w.endMs }));
    const decoder = r.commands === undefined ? undefined : useCommands ? 'commands' : 'open';
    return { text: textOf(chosen), words, confidence: r.confidence, engine: stt.engineName, decoder, openText: useCommands ? textOf(r.words) : undefined, timings: { audioMs, decodeMs: Math.round(r.decodeMs), totalMs: Date.now() - started } };
  });
}

export function speechRoutes(app: FastifyInstance, h: HttpContext): void {
  void app.register((scope, _opts, done) => {
    transcribeRoute(scope, h);
    done();
  });

  app.get('/api/tts/voices', () => {
    const t = h.parts.tts();
    return { voices: t ? [{ name: t.voice, engine: t.name, rate: t.engine.format.rate, current: true }] : [], error: t ? undefined : h.parts.ttsError() };
  });

  app.post<{ Body: { text: string; voice?: string } }>(
    '/api/tts/synthesize',
    { schema: { body: { type: 'object', required: ['text'], additionalProperties: false, properties: { text: { type: 'string', minLength: 1, maxLength: 5000 }, voice: { type: 'string' } } } } },
    async (req, reply) => {
      const t = h.parts.tts();
      if (!t) throw new VoiceError('VOICE_TTS_FAILED', h.parts.ttsError()?.message ?? 'no text-to-speech engine (replies are off, or it failed to start)');
      const { text, voice } = req.body;
      if (voice !== undefined && voice !== t.voice) throw new VoiceError('VOICE_HTTP_BAD_REQUEST', `body/voice: the hub speaks with "${t.voice}" (${t.name}) only; GET /api/tts/voices lists it`);
      const ctl = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) ctl.abort(); // the client went away
      });
      const chunks: Buffer[] = [];
      for await (const c of t.engine.synthesize(text.trim(), ctl.signal)) chunks.push(c);
      const rate = t.engine.format.rate;
      return reply.type('audio/wav').header('x-voice-engine', t.name).send(wavFromPcm(Buffer.concat(chunks), rate));
    },
  );
}
