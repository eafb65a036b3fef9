/**
 * The TTS process: the hub forks it (hub/tts/process.ts) and it runs the one
 * text-to-speech engine the hub resolved (Piper or flite). Piper's ONNX
 * Runtime run() is synchronous and takes as long as the sentence's
 * inference: here it stalls only this process, never the hub's event loop
 * with its embedded broker, and a native crash takes down only this process.
 * Sentences are synthesized as they come (several rooms at once interleave
 * sentence by sentence) and streamed back chunk by chunk as they are made.
 */
import * as fs from 'node:fs';
import { toVoiceError } from '../../common/errors';
import { serveEngine } from '../engine-child';
import type { TtsEngine } from './engine';
import { FliteEngine } from './flite';
import { type FromTtsProcess, type TtsProcessInit, type TtsProcessReady, type ToTtsProcess, ttsTempDir } from './messages';
import { PiperEngine } from './piper';

/** Sentences being synthesized, by the hub's id. */
const running = new Map<number, AbortController>();

serveEngine<TtsProcessInit, TtsProcessReady, ToTtsProcess>({
  name: 'voice-hub-tts',
  logLevel: (init) => init.logLevel,
  async start({ init, log, send }) {
    const dir = ttsTempDir(process.pid);
    fs.mkdirSync(dir, { recursive: true });
    const piper = init.engine === 'piper' ? new PiperEngine(init.piper, log.child({ module: 'tts' })) : undefined;
    const engine: TtsEngine = piper ?? new FliteEngine(init.flite.binary, init.flite.voice, dir);
    try {
      await engine.start();
    } catch (err) {
      await engine.stop().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
      throw toVoiceError(err, 'VOICE_TTS_FAILED');
    }
    const post = (m: FromTtsProcess) => send(m);
    const synth = async (id: number, text: string, ctl: AbortController) => {
      try {
        for await (const pcm of engine.synthesize(text, ctl.signal)) {
          if (ctl.signal.aborted) break;
          post({ type: 'chunk', id, pcm });
        }
        if (!ctl.signal.aborted) post({ type: 'end', id });
      } catch (err) {
        const e = toVoiceError(err, 'VOICE_TTS_FAILED');
        if (!ctl.signal.aborted) post({ type: 'error', id, code: e.code, message: e.message });
      } finally {
        running.delete(id);
      }
    };
    return {
      ready: { name: engine.name, format: engine.format, threads: piper?.threads },
      engine: {
        handle(m) {
          if (m.type === 'synth') {
            const ctl = new AbortController();
            running.set(m.id, ctl);
            void synth(m.id, m.text, ctl);
          } else {
            running.get(m.id)?.abort();
            running.delete(m.id);
          }
        },
        shutdown: async () => {
          for (const ctl of running.values()) ctl.abort();
          await engine.stop();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      },
    };
  },
});
