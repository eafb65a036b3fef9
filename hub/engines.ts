/**
 * Engine choice, resolved once at start-up with one policy for every kind:
 * - an engine named in the config must start, or start-up fails with its code;
 * - `auto` tries the candidates in order of preference, skipping those that
 *   are not installed; when one fails to start it logs a warning naming the
 *   reason and starts the next (Piper -> flite, Vosk -> pocketsphinx).
 * The result says which engine really runs and why, for the hub's status.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ErrorCode, toVoiceError, VoiceError } from '../common/errors';
import type { Logger } from '../common/log';
import type { HubConfig } from '../config/hub';
import type { SttEngineName, SttSettings } from './stt/engine';
import { SttPool } from './stt/pool';
import { SttProcess } from './stt/process';
import { looksLikeVoskModel } from './stt/vosk';
import { TtsProcess } from './tts/process';

export interface Candidate<T> {
  name: string;
  /** Whether `auto` should try it (its model or voice is installed). */
  installed: () => boolean;
  start: () => Promise<T>;
}

export interface Resolved<T> {
  engine: T;
  name: string;
  /** Set when `auto` had to skip an engine that was installed but failed. */
  fallback?: { from: string; code: ErrorCode; reason: string };
}

export async function resolveEngine<T>(kind: string, configured: string, candidates: Candidate<T>[], log: Logger): Promise<Resolved<T>> {
  if (configured !== 'auto') {
    const c = candidates.find((x) => x.name === configured);
    if (!c) throw new VoiceError('VOICE_CONFIG_INVALID', `unknown ${kind} engine ${configured}`);
    return { engine: await c.start(), name: c.name };
  }
  let fallback: Resolved<T>['fallback'];
  const usable = candidates.filter((c, i) => i === candidates.length - 1 || c.installed());
  for (const [i, c] of usable.entries()) {
    try {
      return { engine: await c.start(), name: c.name, fallback };
    } catch (err) {
      if (i === usable.length - 1) throw err;
      const e = toVoiceError(err);
      fallback = { from: c.name, code: e.code, reason: e.message };
      log.warn({ code: e.code, engine: c.name, next: usable[i + 1].name }, `${kind} engine ${c.name} failed to start (${e.message}); ${kind}.engine=auto uses ${usable[i + 1].name}`);
    }
  }
  throw new VoiceError('VOICE_INTERNAL', `no ${kind} engine candidates`);
}

/**
 * Speech to text: Vosk when its model is installed, else pocketsphinx.
 * Decoding runs in the STT process (hub/stt/process.ts), on its pool of
 * worker threads.
 */
export function startStt(c: HubConfig['stt'], log: Logger, extra: Pick<SttSettings, 'commands' | 'quietMs'> = {}): Promise<Resolved<SttProcess>> {
  const workers = SttPool.defaultSize(c.workers);
  const { warm, basis } = SttPool.defaultWarm(c.warmSessions, workers);
  log.info({ warmSessions: warm, basis }, 'speech-to-text warm capacity');
  const proc = (engine: Exclude<SttEngineName, 'auto'>) => async () => {
    const p = new SttProcess({ ...c, engine, ...extra }, workers, warm, log.level, log);
    try {
      await p.start();
    } catch (err) {
      await p.stop();
      throw err;
    }
    return p;
  };
  return resolveEngine('stt', c.engine, [
    { name: 'vosk', installed: () => looksLikeVoskModel(path.resolve(c.vosk.model)), start: proc('vosk') },
    { name: 'pocketsphinx', installed: () => true, start: proc('pocketsphinx') },
    // For tests only: `auto` never reaches it (pocketsphinx always starts or fails first).
    { name: 'crash-test', installed: () => false, start: proc('crash-test') },
  ], log);
}

/**
 * Text to speech: Piper when its voice is installed, else flite. Each
 * candidate runs in a TTS process of its own (hub/tts/process.ts), which
 * answers its engine's load error with the engine's code.
 */
export function startTts(c: HubConfig['tts'], log: Logger): Promise<Resolved<TtsProcess>> {
  const proc = (engine: 'piper' | 'flite') => async () => {
    const p = new TtsProcess({ engine, piper: c.piper, flite: c.flite, logLevel: log.level }, log);
    try {
      await p.start();
    } catch (err) {
      await p.stop();
      throw toVoiceError(err, 'VOICE_TTS_FAILED');
    }
    return p;
  };
  return resolveEngine('tts', c.engine, [
    { name: 'piper', installed: () => fs.existsSync(path.resolve(c.piper.voice)), start: proc('piper') },
    { name: 'flite', installed: () => true, start: proc('flite') },
  ], log);
}
