/** In-process hub on a real aedes broker (port 0) for protocol-level tests. */
import pino from 'pino';
import { loadConfig } from '../common/config';
import { type HubConfig, hubSchema } from '../config/hub';
import { Hub } from '../hub/controller';
import { registerBroker, withStateDir } from './credentials';
import { TMP } from './helpers';

/** `logs`: the hub's log lines (pino's objects, level info and up) are pushed there. */
export async function startHub(args: string[] = [], opts: { logs?: Record<string, unknown>[] } = {}): Promise<Hub> {
  const { args: argv, dir } = withStateDir(['--broker-port', '0', '--broker-host', '127.0.0.1', '--stt-workers', '1', ...(args.includes('--stt-warm-sessions') ? [] : ['--stt-warm-sessions', '4']), ...args], TMP);
  const { config } = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv, env: {} });
  const logs = opts.logs;
  const log = logs ? pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) }) : pino({ level: process.env.TEST_LOG ?? 'silent' });
  const hub = new Hub({ config, log });
  await hub.start();
  for (const port of [hub.broker?.port, hub.broker?.tlsPort]) if (port) registerBroker(port, dir);
  return hub;
}
