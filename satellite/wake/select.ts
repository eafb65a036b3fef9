import type { SatelliteConfig } from '../../config/satellite';
import type { WakeEngine } from './engine';
import { OpenWakeWordEngine } from './openwakeword';
import { PorcupineEngine } from './porcupine';

/** `auto` picks Porcupine when a Picovoice access key is set, else openWakeWord. */
export function resolveWakeEngineName(c: SatelliteConfig['wake']): 'porcupine' | 'openwakeword' {
  if (c.engine !== 'auto') return c.engine;
  return c.porcupine.accessKey ? 'porcupine' : 'openwakeword';
}

export function createWakeEngine(c: SatelliteConfig['wake']): WakeEngine {
  if (resolveWakeEngineName(c) === 'porcupine') return new PorcupineEngine(c.porcupine);
  return new OpenWakeWordEngine({ keyword: c.keyword, threshold: c.threshold, threads: 1 });
}
