/** In-process hub on a real aedes broker (port 0) for protocol-level tests. */
import pino from 'pino';
import { loadConfig } from '../common/config';
import { type HubConfig, hubSchema } from '../config/hub';
import { Hub } from '../hub/controller';

export async function startHub(args: string[] = []): Promise<Hub> {
  const { config } = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: ['--broker-port', '0', '--broker-host', '127.0.0.1', '--stt-workers', '1', ...(args.includes('--stt-warm-sessions') ? [] : ['--stt-warm-sessions', '4']), ...args], env: {} });
  const hub = new Hub({ config, log: pino({ level: process.env.TEST_LOG ?? 'silent' }) });
  await hub.start();
  return hub;
}
