#!/usr/bin/env node
import { runProcess } from '../common/main';
import { type HubConfig, hubSchema } from '../config/hub';
import { Hub } from './controller';

void runProcess<HubConfig>({
  name: 'voice-hub',
  prefix: 'VOICE_HUB',
  schema: hubSchema,
  create: (config, log) => new Hub({ config, log }),
});
