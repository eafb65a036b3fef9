#!/usr/bin/env node
import { runProcess } from '../common/main';
import { type HubConfig, hubSchema } from '../config/hub';
import { isAdminCommand, runAdmin } from './cli';
import { Hub } from './controller';
import { isTlsCommand, runTls } from './tls-cli';

// `voice-hub satellite add kitchen ...` and the like manage identities (hub/cli.ts), `voice-hub tls init` the
// broker's certificate (hub/tls-cli.ts); anything else runs the hub.
const argv = process.argv.slice(2);
if (isAdminCommand(argv)) {
  process.exitCode = runAdmin(argv);
} else if (isTlsCommand(argv)) {
  process.exitCode = runTls(argv);
} else {
  void runProcess<HubConfig>({
    name: 'voice-hub',
    prefix: 'VOICE_HUB',
    schema: hubSchema,
    create: (config, log) => new Hub({ config, log }),
  });
}
