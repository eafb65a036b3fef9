/** The embedded MQTT broker: aedes on a TCP server, optional username/password. */
import * as net from 'node:net';
import type { Aedes } from 'aedes' with { 'resolution-mode': 'import' };
import { VoiceError } from '../common/errors';
import type { Logger } from '../common/log';

export interface BrokerOptions {
  host: string;
  port: number;
  username: string;
  password: string;
}

export class EmbeddedBroker {
  private aedes?: Aedes;
  private server?: net.Server;
  port = 0;

  constructor(
    private readonly opts: BrokerOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const { Aedes } = await import('aedes');
    const aedes = await Aedes.createBroker({ id: 'voice-hub' });
    this.aedes = aedes;
    if (this.opts.username) {
      aedes.authenticate = (client, username, password, done) => {
        const ok = username === this.opts.username && password?.toString() === this.opts.password;
        if (!ok) this.log.warn({ clientId: client.id }, 'embedded broker refused a client with wrong credentials');
        if (ok) done(null, true);
        else done(Object.assign(new Error('bad username or password'), { returnCode: 4 }), false);
      };
    }
    aedes.on('clientError', (client, err) => this.log.debug({ clientId: client.id, err: err.message }, 'broker client error'));
    const server = net.createServer(aedes.handle);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(new VoiceError('VOICE_BROKER_FAILED', `embedded broker cannot listen on ${this.opts.host}:${this.opts.port}: ${err.code ?? err.message}; set broker.port or mqtt.url`, undefined, { cause: err }));
      });
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.log.info({ host: this.opts.host, port: this.port }, 'embedded MQTT broker listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    const aedes = this.aedes;
    // Closing aedes first disconnects its clients, so the server can close.
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
