import type { SttEngine, SttSettings } from './engine';
import { PocketsphinxEngine } from './pocketsphinx';
import { VoskEngine } from './vosk';

/**
 * Builds the engine a worker runs. The choice (`auto` included) is made once,
 * in the main thread, by hub/engines.ts; workers get a concrete engine name.
 */
export function createEngine(settings: SttSettings): SttEngine {
  if (settings.engine === 'auto') throw new Error('hub/engines.ts resolves stt.engine=auto before workers start');
  return settings.engine === 'vosk' ? new VoskEngine(settings.vosk) : new PocketsphinxEngine(settings.pocketsphinx);
}
