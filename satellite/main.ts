#!/usr/bin/env node
import { runProcess } from '../common/main';
import { type SatelliteConfig, satelliteSchema } from '../config/satellite';
import { Satellite } from './controller';

void runProcess<SatelliteConfig>({
  name: 'voice-satellite',
  prefix: 'VOICE_SAT',
  schema: satelliteSchema,
  create: (config, log) => new Satellite({ config, log }),
});
