/**
 * The child side of an engine process (hub/engine-process.ts is the hub's
 * side): waits for the init message, starts the engine, answers `ready` or a
 * coded `load-error`, then hands every message to the engine's handler until
 * `shutdown`. It ignores SIGINT and SIGTERM, which a terminal or systemd sends
 * to the whole process group: the hub stops it in order. It exits when the
 * hub's IPC channel closes (the hub died), so no engine outlives its hub.
 */
import { toVoiceError } from '../common/errors';
import { createLogger, type Logger } from '../common/log';
import type { ChildStartMessage, InitMessage } from './engine-process';

export interface ChildEngine<In> {
  handle(m: In): void;
  /** Frees what the engine holds; the process exits after it. */
  shutdown(): Promise<void> | void;
}

export interface ChildContext<I> {
  init: I;
  /** How many processes of this kind died before this one (0 for the first). */
  generation: number;
  log: Logger;
  send: (m: unknown) => void;
}

export function serveEngine<I, R, In extends { type: string }>(opts: {
  name: string;
  logLevel: (init: I) => string;
  start(ctx: ChildContext<I>): Promise<{ ready: R; engine: ChildEngine<In> }>;
}): void {
  if (!process.send) throw new Error(`${opts.name} must be forked by the hub`);
  const send = (m: unknown) => {
    if (process.connected) process.send?.(m);
  };
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  process.on('disconnect', () => process.exit(0));
  let engine: ChildEngine<In> | undefined;
  let log: Logger | undefined;
  const shutdown = async () => {
    try {
      await engine?.shutdown();
    } finally {
      process.exit(0);
    }
  };
  process.on('uncaughtException', (err) => log?.error({ code: 'VOICE_INTERNAL', err }, 'uncaught exception (kept running)'));
  process.on('message', (raw: unknown) => {
    const m = raw as InitMessage<I> | In | { type: 'shutdown' };
    if (m.type === 'shutdown') {
      void shutdown();
    } else if (m.type === 'init') {
      const init = m as InitMessage<I>;
      log = createLogger(opts.name, opts.logLevel(init.init));
      opts.start({ init: init.init, generation: init.generation, log, send }).then(
        (r) => {
          engine = r.engine;
          send({ type: 'ready', ready: r.ready } satisfies ChildStartMessage<R>);
        },
        (err: unknown) => {
          const e = toVoiceError(err);
          send({ type: 'load-error', code: e.code, message: e.message } satisfies ChildStartMessage<R>);
        },
      );
    } else {
      engine?.handle(m as In);
    }
  });
}
