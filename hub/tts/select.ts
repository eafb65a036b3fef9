import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HubConfig } from '../../config/hub';
import type { TtsEngine } from './engine';
import { FliteEngine } from './flite';
import { PiperEngine } from './piper';

/** `auto` picks Piper when its voice file exists, else flite. */
export function resolveTtsName(c: HubConfig['tts']): 'piper' | 'flite' {
  if (c.engine !== 'auto') return c.engine;
  return fs.existsSync(path.resolve(c.piper.voice)) ? 'piper' : 'flite';
}

export function createTts(c: HubConfig['tts']): TtsEngine {
  if (resolveTtsName(c) === 'piper') return new PiperEngine(c.piper);
  return new FliteEngine(c.flite.binary, c.flite.voice);
}
