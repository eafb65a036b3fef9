/** Captures raw s16le 16 kHz mono PCM from a command's stdout (e.g. arecord -t raw). */
import { type ChildProcess, spawn } from 'node:child_process';
import { VoiceError } from '../../common/errors';
import { BaseSource } from './source';

/** Splits a command line on whitespace, honouring simple single and double quotes. */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

export class CommandSource extends BaseSource {
  readonly name = 'command';
  private child?: ChildProcess;
  private stopping = false;
  private odd: Buffer | null = null;

  constructor(private readonly command: string) {
    super();
  }

  start(): Promise<void> {
    const [cmd, ...args] = splitCommand(this.command);
    if (!cmd) return Promise.reject(new VoiceError('VOICE_AUDIO_SOURCE_FAILED', 'audio.command is empty'));
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-2000);
      });
      child.once('spawn', () => resolve());
      child.once('error', (err) => {
        const e = new VoiceError('VOICE_AUDIO_SOURCE_FAILED', `audio command "${cmd}" failed to start: ${err.message}`, undefined, { cause: err });
        if (this.listenerCount('error') > 0) this.emit('error', e);
        reject(e);
      });
      child.stdout?.on('data', (d: Buffer) => {
        // Keep samples whole across reads.
        let buf = this.odd ? Buffer.concat([this.odd, d]) : d;
        this.odd = null;
        if (buf.length % 2) {
          this.odd = buf.subarray(buf.length - 1);
          buf = buf.subarray(0, buf.length - 1);
        }
        if (buf.length) this.emit('data', buf);
      });
      child.once('exit', (code, signal) => {
        this.child = undefined;
        if (this.stopping) return;
        this.emit('error', new VoiceError('VOICE_AUDIO_SOURCE_FAILED', `audio command exited (code ${code}, signal ${signal}): ${stderr.trim().split('\n').pop() ?? ''}`));
        this.emit('end');
      });
    });
  }

  stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}
