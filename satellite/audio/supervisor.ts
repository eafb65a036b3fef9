/**
 * Runs the configured audio source and keeps it running: a microphone
 * unplugged or a capture command that died is reported and restarted every
 * SOURCE_RETRY_MS until it works (a WAV file is not retried).
 */
import type { Logger } from '../../common/log';
import type { ErrorReporter } from '../../common/report';
import type { SatelliteConfig } from '../../config/satellite';
import { createSource } from './select';
import type { AudioSource } from './source';

export const SOURCE_RETRY_MS = 2000;

export interface SupervisorContext {
  config: SatelliteConfig['audio'];
  log: Logger;
  errors: ErrorReporter;
  onData: (pcm: Buffer) => void;
  onEnd: () => void;
}

export class SourceSupervisor {
  private source?: AudioSource;
  private retryTimer?: NodeJS.Timeout;
  private stopping = false;

  constructor(private readonly ctx: SupervisorContext) {}

  async start(): Promise<void> {
    const source = createSource(this.ctx.config);
    this.source = source;
    source.on('data', (b: Buffer) => {
      if (!this.stopping) this.ctx.onData(b);
    });
    source.on('error', (err: unknown) => this.onError(err));
    source.on('end', () => {
      this.ctx.log.info({ source: source.name }, 'audio source ended');
      this.ctx.onEnd();
    });
    await source.start();
  }

  private onError(err: unknown): void {
    this.ctx.errors.reportError(err, 'VOICE_AUDIO_SOURCE_FAILED');
    if (this.stopping || this.ctx.config.source === 'wav' || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.stopping) return;
      const old = this.source;
      void (async () => {
        await old?.stop().catch(() => undefined);
        old?.removeAllListeners();
        try {
          await this.start();
          this.ctx.log.info('audio source restarted');
        } catch (err2) {
          this.onError(err2);
        }
      })();
    }, SOURCE_RETRY_MS);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    await this.source?.stop();
  }
}
