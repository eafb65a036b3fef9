/**
 * The STT process: the hub forks it (hub/stt/process.ts) so that a native
 * crash in a decoder takes down this process and the sessions it decodes,
 * never the hub with its broker. Inside, the worker-thread pool
 * (hub/stt/pool.ts) shares one model across its threads where the engine
 * allows (Vosk).
 */
import { VoiceError } from '../../common/errors';
import { serveEngine } from '../engine-child';
import type { FromSttProcess, SttProcessInit, SttProcessReady, ToSttProcess } from './messages';
import { type SttHandle, SttPool } from './pool';

/** The live sessions' handles into the pool, by session id. */
const handles = new Map<string, SttHandle>();

serveEngine<SttProcessInit, SttProcessReady, ToSttProcess>({
  name: 'voice-hub-stt',
  logLevel: (init) => init.logLevel,
  async start({ init, generation, log, send }) {
    // A pool left with no worker cannot decode: exit, and the hub forks a new process (with its backoff).
    const pool = new SttPool({ ...init.settings, generation }, init.workers, log.child({ module: 'stt' }), init.warm, () => {
      log.error({ code: 'VOICE_ENGINE_CRASHED' }, 'no STT worker is left and none could be replaced; the process exits for the hub to replace it');
      process.exit(70);
    });
    await pool.start();
    const post = (m: FromSttProcess) => send(m);
    return {
      ready: { engine: pool.engineName, workers: pool.workers, capacity: pool.capacity },
      engine: {
        handle(m) {
          if (m.type === 'open') {
            try {
              handles.set(
                m.sid,
                pool.open(m.sid, {
                  partial: (words, endpoint, audioMs, commands) => post({ type: 'partial', sid: m.sid, words, endpoint, audioMs, commands }),
                  final: (words, confidence, decodeMs, commands) => {
                    handles.delete(m.sid);
                    post({ type: 'final', sid: m.sid, words, confidence, decodeMs, commands });
                  },
                  error: (err: VoiceError) => {
                    handles.delete(m.sid);
                    post({ type: 'error', sid: m.sid, code: err.code, message: err.message });
                  },
                }),
              );
            } catch (err) {
              const e = err instanceof VoiceError ? err : new VoiceError('VOICE_STT_FAILED', String(err));
              post({ type: 'error', sid: m.sid, code: e.code, message: e.message });
            }
          } else if (m.type === 'stats' || m.type === 'terminate-worker') {
            const before = m.type === 'terminate-worker' ? pool.threads[m.index]?.terminate() : undefined;
            Promise.resolve(before)
              .then(() => pool.workerRecognizers())
              .then(
                (recognizers) => post({ type: 'stats', id: m.id, recognizers, threads: pool.threads.map((w) => w.threadId) }),
                (err: unknown) => log.error({ err }, 'STT stats request failed'),
              );
          } else {
            const h = handles.get(m.sid);
            if (!h) return;
            if (m.type === 'audio') h.audio(Buffer.from(m.pcm.buffer, m.pcm.byteOffset, m.pcm.byteLength));
            else if (m.type === 'wake') h.wake(m.wakeMs, m.marginMs);
            else if (m.type === 'final') h.finish();
            else {
              handles.delete(m.sid);
              h.abort();
            }
          }
        },
        shutdown: () => pool.stop(),
      },
    };
  },
});
