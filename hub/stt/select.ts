import { CrashTestEngine } from './crash-test';
import type { EngineNotice, SharedModel, SttEngine, SttSettings } from './engine';
import { PocketsphinxEngine } from './pocketsphinx';
import { VoskEngine } from './vosk';

/**
 * Builds the engine a worker runs. The choice (`auto` included) is made once,
 * in the main thread, by hub/engines.ts; workers get a concrete engine name,
 * the pool's shared model when there is one, and where its notices for the
 * hub's log go.
 */
export function createEngine(settings: SttSettings, shared?: SharedModel, notice?: EngineNotice): SttEngine {
  switch (settings.engine) {
    case 'auto':
      throw new Error('hub/engines.ts resolves stt.engine=auto before workers start');
    case 'vosk':
      return new VoskEngine(settings.vosk, shared, settings.commands, notice);
    case 'crash-test':
      return new CrashTestEngine(settings.pocketsphinx, (settings.generation ?? 0) === 0);
    default:
      return new PocketsphinxEngine(settings.pocketsphinx, settings.commands, notice);
  }
}
