import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Structured JSON logs on stdout (journald keeps them as they are), one
 * `module` namespace per part. Secrets in config are redacted.
 */
export function createLogger(name: string, level: string): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['*.password', '*.accessKey', 'config.mqtt.password', 'config.wake.porcupine.accessKey'], censor: '[redacted]' },
  });
}
