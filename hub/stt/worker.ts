/**
 * STT worker thread: loads the engine's model once (or uses the pool's shared
 * one), then runs one recognizer per live session. Native decoding happens
 * here, never on the hub's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { toVoiceError } from '../../common/errors';
import { type SharedModel, type SttSettings, textOf } from './engine';
import type { FromWorker, ToWorker } from './messages';
import { createEngine } from './select';
import { SessionDecoder } from './session-decoder';

const port = parentPort;
if (!port) throw new Error('hub/stt/worker.js must run as a worker thread');

const post = (m: FromWorker) => port.postMessage(m);
const { settings, shared, warm } = workerData as { settings: SttSettings; shared?: SharedModel; warm: number };
const engine = createEngine(settings, shared, (level, msg, fields) => post({ type: 'notice', level, msg, fields }));

/** Decoded audio after which a partial is posted even if its text did not change, ms. */
const PROGRESS_MS = 1000;

interface Live {
  rec: SessionDecoder;
  lastPartial: string;
  samples: number;
  /** Samples decoded when the last partial was posted. */
  postedSamples: number;
  /** The last word's end (ms) for which the quiet partial (settings.quietMs) was posted. */
  quietFor?: number;
  decodeMs: number;
}
const live = new Map<string, Live>();

try {
  engine.load();
  engine.warm?.(warm);
  // The pool's first worker hands the model it loaded to the pool, which gives it to the others.
  post({ type: 'ready', engine: engine.name, shared: shared ? undefined : engine.shareModel?.() });
} catch (err) {
  const e = toVoiceError(err, 'VOICE_STT_FAILED');
  post({ type: 'load-error', code: e.code, message: e.message });
}

function fail(sid: string, err: unknown): void {
  const e = toVoiceError(err, 'VOICE_STT_FAILED');
  const s = live.get(sid);
  live.delete(sid);
  try {
    s?.rec.free();
  } catch {
    // already failing; freeing is best effort
  }
  post({ type: 'error', sid, code: e.code, message: e.message });
}

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'open':
      try {
        live.set(m.sid, { rec: new SessionDecoder(() => engine.createRecognizer()), lastPartial: '', samples: 0, postedSamples: 0, decodeMs: 0 });
      } catch (err) {
        fail(m.sid, err);
      }
      return;
    case 'audio': {
      const s = live.get(m.sid);
      if (!s) return;
      try {
        const t0 = performance.now();
        const pcm = new Int16Array(m.pcm);
        const r = s.rec.accept(pcm);
        s.samples += pcm.length;
        s.decodeMs += performance.now() - t0;
        // Also every PROGRESS_MS of decoded audio: a hub waiting for a final sees the decoder is still working through its backlog.
        // The command model's words count too: the hub may take them over the general model's.
        const heard = r.commands ? `${r.partial}|${textOf(r.commands)}` : r.partial;
        // And once settings.quietMs of audio has been decoded past the last word (semantic end of speech).
        const lastEnd = Math.max(r.words.at(-1)?.endMs ?? -1, r.commands?.at(-1)?.endMs ?? -1);
        const quiet = settings.quietMs !== undefined && lastEnd >= 0 && lastEnd !== s.quietFor && s.samples / 16 - lastEnd >= settings.quietMs;
        if (quiet) s.quietFor = lastEnd;
        if (heard !== s.lastPartial || r.endpoint || quiet || s.samples - s.postedSamples >= PROGRESS_MS * 16) {
          s.lastPartial = heard;
          s.postedSamples = s.samples;
          post({ type: 'partial', sid: m.sid, words: r.words, endpoint: r.endpoint, audioMs: Math.round(s.samples / 16), commands: r.commands });
        }
      } catch (err) {
        fail(m.sid, err);
      }
      return;
    }
    case 'wake':
      live.get(m.sid)?.rec.setWake({ wakeMs: m.wakeMs, marginMs: m.marginMs });
      return;
    case 'final': {
      const s = live.get(m.sid);
      if (!s) return;
      try {
        const t0 = performance.now();
        const f = s.rec.final();
        s.decodeMs += performance.now() - t0;
        live.delete(m.sid);
        s.rec.free();
        post({ type: 'final', sid: m.sid, words: f.words, confidence: f.confidence, decodeMs: Math.round(s.decodeMs), commands: f.commands });
      } catch (err) {
        fail(m.sid, err);
      }
      return;
    }
    case 'shutdown':
      for (const s of live.values()) s.rec.free();
      live.clear();
      engine.unload();
      if (m.freeSharedModel) engine.freeSharedModel?.();
      process.exit(0);
      return;
    case 'stats':
      post({ type: 'stats', id: m.id, recognizers: live.size, decoders: engine.decoders?.() });
      return;
    case 'abort': {
      const s = live.get(m.sid);
      live.delete(m.sid);
      s?.rec.free();
      return;
    }
  }
});
