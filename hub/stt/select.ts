import type { SharedModel, SttEngine, SttSettings } from './engine';
import { PocketsphinxEngine } from './pocketsphinx';
import { VoskEngine } from './vosk';

/**
 * Builds the engine a worker runs. The choice (`auto` included) is made once,
 * in the main thread, by hub/engines.ts; workers get a concrete engine name,
 * and the pool's shared model when there is one.
 */
export function createEngine(settings: SttSettings, shared?: SharedModel): SttEngine {
  if (settings.engine === 'auto') throw new Error('hub/engines.ts resolves stt.engine=auto before workers start');
  return settings.engine === 'vosk' ? new VoskEngine(settings.vosk, shared) : new PocketsphinxEngine(settings.pocketsphinx);
}
