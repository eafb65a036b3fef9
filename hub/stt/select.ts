import * as path from 'node:path';
import type { SttEngine, SttSettings } from './engine';
import { PocketsphinxEngine } from './pocketsphinx';
import { looksLikeVoskModel, VoskEngine } from './vosk';

/** `auto` picks Vosk when a Vosk model is installed, else pocketsphinx. */
export function resolveEngineName(settings: SttSettings): 'vosk' | 'pocketsphinx' {
  if (settings.engine !== 'auto') return settings.engine;
  return looksLikeVoskModel(path.resolve(settings.vosk.model)) ? 'vosk' : 'pocketsphinx';
}

export function createEngine(settings: SttSettings): SttEngine {
  return resolveEngineName(settings) === 'vosk' ? new VoskEngine(settings.vosk) : new PocketsphinxEngine(settings.pocketsphinx);
}
