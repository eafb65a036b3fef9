/**
 * systemd notifications (Type=notify): READY=1, WATCHDOG=1, STOPPING=1 via
 * libsystemd's sd_notify through koffi, sent from the service's main process
 * so systemd attributes them correctly. A no-op outside systemd
 * (no NOTIFY_SOCKET) or where libsystemd is absent.
 */
import type { Logger } from './log';

type Notify = (state: string) => boolean;

function loadNotify(log: Logger): Notify | null {
  if (!process.env.NOTIFY_SOCKET) return null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const koffi = require('koffi') as typeof import('koffi');
    const lib = koffi.load('libsystemd.so.0');
    const fn = lib.func('int sd_notify(int unset_environment, const char *state)');
    return (state: string) => (fn(0, state) as number) > 0;
  } catch (err) {
    log.warn({ err }, 'NOTIFY_SOCKET is set but libsystemd could not be loaded; systemd will not see READY');
    return null;
  }
}

export class SystemdNotifier {
  private readonly notify: Notify | null;
  private timer?: NodeJS.Timeout;

  constructor(log: Logger) {
    this.notify = loadNotify(log);
  }

  get active(): boolean {
    return this.notify !== null;
  }

  /** Sends READY=1 and, if WATCHDOG_USEC is set, starts pinging at half that interval. */
  ready(status: string): void {
    if (!this.notify) return;
    this.notify(`READY=1\nSTATUS=${status}\nMAINPID=${process.pid}`);
    const usec = Number(process.env.WATCHDOG_USEC);
    if (Number.isFinite(usec) && usec > 0) {
      this.timer = setInterval(() => this.notify?.('WATCHDOG=1'), Math.max(500, usec / 2000));
      this.timer.unref();
    }
  }

  stopping(): void {
    clearInterval(this.timer);
    this.notify?.('STOPPING=1');
  }
}
