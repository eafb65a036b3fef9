/**
 * Process entry shared by hub and satellite: load config (exit 78 on
 * problems), start the controller, notify systemd, stop gracefully on
 * SIGTERM/SIGINT, and never die from a stray error.
 */
import { EX_CONFIG, loadConfig } from './config';
import { isSetupCode, isVoiceError, toVoiceError } from './errors';
import { createLogger, type Logger } from './log';
import { SystemdNotifier } from './sdnotify';

export interface Controller {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function runProcess<C extends { log: { level: string } }>(opts: {
  name: string;
  prefix: string;
  schema: object;
  create: (config: C, log: Logger) => Controller;
}): Promise<void> {
  let config: C;
  try {
    config = loadConfig<C>(opts.schema, { prefix: opts.prefix, argv: process.argv.slice(2), env: process.env }).config;
  } catch (err) {
    const e = toVoiceError(err, 'VOICE_CONFIG_INVALID');
    process.stderr.write(`${opts.name}: ${e.code}: ${e.message}\n`);
    process.exit(EX_CONFIG);
  }
  const log = createLogger(opts.name, config.log.level);
  const notifier = new SystemdNotifier(log);
  const controller = opts.create(config, log);

  process.on('unhandledRejection', (reason) => log.error({ code: 'VOICE_INTERNAL', err: reason }, 'unhandled rejection (kept running)'));
  process.on('uncaughtException', (err) => log.error({ code: 'VOICE_INTERNAL', err }, 'uncaught exception (kept running)'));

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    notifier.stopping();
    const force = setTimeout(() => {
      log.error('graceful stop took over 10 s; exiting');
      process.exit(1);
    }, 10000);
    force.unref();
    controller.stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  try {
    await controller.start();
    notifier.ready(`${opts.name} running`);
  } catch (err) {
    const e = toVoiceError(err);
    log.fatal({ code: e.code, details: e.details }, e.message);
    process.stderr.write(`${opts.name}: ${e.code}: ${e.message}\n`);
    await controller.stop().catch(() => undefined);
    // Set-up failures (a missing model, library or key; see the `setup` flag in
    // common/errors.ts) exit 78 so systemd does not restart into the same failure.
    process.exit(isVoiceError(err) && isSetupCode(e.code) ? EX_CONFIG : 1);
  }
}
