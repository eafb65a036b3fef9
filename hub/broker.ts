/**
 * The embedded MQTT broker: aedes on a TCP server, with the hub's
 * identities (hub/security/identities.ts) and their rights
 * (hub/security/acl.ts):
 * - CONNECT: the username names an identity, the password is its secret;
 *   anything else gets CONNACK 5 (not authorized), anonymous clients too
 *   unless broker.allowAnonymous. A satellite must use client id
 *   voice-sat-<its id>; no other identity may take a voice-sat- id, and a
 *   client id held by another identity is refused (CONNACK 2), so nobody
 *   knocks a satellite or the hub off;
 * - SUBSCRIBE: a filter the role may not use gets SUBACK 128;
 * - PUBLISH: a topic the role may not publish to is dropped (acknowledged,
 *   delivered to nobody, never retained), as Mosquitto does;
 * - every delivery, retained ones too, goes only to clients that may read it.
 * Each denial is logged once per client and reason. An identity removed
 * from the store is disconnected within a second.
 *
 * Listeners: plain TCP (on, loopback only, or off) and mqtts with the
 * hub's certificate (hub/security/tls.ts); both lead to the same broker and
 * the same rules.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Aedes, Client } from 'aedes' with { 'resolution-mode': 'import' };
import { VoiceError } from '../common/errors';
import type { Logger } from '../common/log';
import type { ReportTarget } from '../common/report';
import { Acl, type Principal } from './security/acl';
import type { IdentityStore } from './security/identities';
import { CappedConnection, type Oversize } from './security/packet-cap';

export interface BrokerOptions {
  host: string;
  port: number;
  /** The plain-TCP listener: on (host:port), loopback (127.0.0.1:port) or off. */
  plain: 'on' | 'loopback' | 'off';
  /** The mqtts listener, if any. */
  tls?: { host: string; port: number; cert: Buffer; key: Buffer };
  allowAnonymous: boolean;
  /** Largest packet a client may send (0: no cap); see hub/security/packet-cap.ts. */
  maxPacketBytes: number;
  /** The hub's error reporter, for VOICE_MQTT_PACKET_TOO_LARGE. */
  report: (code: 'VOICE_MQTT_PACKET_TOO_LARGE', message: string, at: ReportTarget) => void;
  topicRoot: string;
  /** The hub's own MQTT client id: only the hub identity may use it. */
  hubClientId: string;
}

/** Where a refused publish goes: nobody may subscribe to it, nothing there is retained. */
const DENIED_TOPIC = '$voice-hub/denied';
const SATELLITE_CLIENT_PREFIX = 'voice-sat-';
const REVOKE_CHECK_MS = 500;
/** An oversized packet is reported at most once per client (identity, else address) in this long. */
const OVERSIZE_REPORT_MS = 60_000;

export class EmbeddedBroker {
  private aedes?: Aedes;
  private servers: net.Server[] = [];
  private revokeTimer?: NodeJS.Timeout;
  private readonly principals = new WeakMap<Client, Principal>();
  private readonly logged = new WeakMap<Client, Set<string>>();
  /** Connected clients by client id (aedes keeps its own map, untyped). */
  private readonly clients = new Map<string, Client>();
  private readonly acl: Acl;
  private readonly oversized = new Map<string, { at: number; quiet: number }>();
  /** The plain listener's port (0: none). */
  port = 0;

  /** MQTT clients connected now (the hub's own included). */
  get clientCount(): number {
    return this.clients.size;
  }

  /** True while every listener accepts connections. */
  get listening(): boolean {
    return this.servers.length > 0 && this.servers.every((s) => s.listening);
  }
  /** The mqtts listener's port (0: none). */
  tlsPort = 0;

  constructor(
    private readonly opts: BrokerOptions,
    private readonly identities: IdentityStore,
    private readonly log: Logger,
  ) {
    this.acl = new Acl(opts.topicRoot);
  }

  async start(): Promise<void> {
    const { Aedes } = await import('aedes');
    const aedes = await Aedes.createBroker({ id: 'voice-hub' });
    this.aedes = aedes;
    if (this.opts.allowAnonymous) this.log.warn({ setting: 'broker.allowAnonymous' }, 'the embedded broker lets in clients without credentials, with every right: anyone on the network can open a microphone and read audio');
    aedes.authenticate = (client, username, password, done) => {
      this.authenticate(client, username, password?.toString()).then(
        (p) => {
          this.principals.set(client, p);
          done(null, true);
        },
        (err: Error & { returnCode?: number }) => {
          this.log.warn({ clientId: client.id, username, reason: err.message }, 'embedded broker refused a connection');
          done(err as Error & { returnCode: number }, false);
        },
      );
    };
    aedes.authorizeSubscribe = (client, sub, done) => {
      const why = this.acl.subscribe(this.who(client), sub.topic);
      if (why) this.deny(client, 'subscribe', sub.topic, why);
      done(null, why ? null : sub);
    };
    aedes.authorizePublish = (client, packet, done) => {
      // A will or the broker's own: the will was the client's to set at CONNECT, under the same rules.
      if (!client) return done(null);
      const why = this.acl.publish(this.who(client), packet.topic);
      if (why) {
        this.deny(client, 'publish', packet.topic, why);
        packet.topic = DENIED_TOPIC;
        packet.retain = false;
        packet.payload = Buffer.alloc(0);
      }
      done(null);
    };
    aedes.authorizeForward = (client, packet) => {
      if (packet.topic === DENIED_TOPIC) return null;
      return this.acl.receive(this.who(client), packet.topic) ? packet : null;
    };
    aedes.on('client', (client) => this.clients.set(client.id, client));
    aedes.on('clientDisconnect', (client) => {
      if (this.clients.get(client.id) === client) this.clients.delete(client.id);
    });
    aedes.on('clientError', (client, err) => this.log.debug({ clientId: client.id, err: err.message }, 'broker client error'));
    const o = this.opts;
    // Every connection's bytes pass the packet-size cap before aedes' parser buffers them.
    const handle = (socket: net.Socket) => aedes.handle(new CappedConnection(socket, o.maxPacketBytes, (x) => this.oversize(x)));
    if (o.plain !== 'off') this.port = await this.listen(net.createServer(handle), o.plain === 'loopback' ? '127.0.0.1' : o.host, o.port, 'broker.port');
    if (o.tls) {
      const server = tls.createServer({ cert: o.tls.cert, key: o.tls.key, minVersion: 'TLSv1.2' }, handle);
      // A client that gives up on our certificate, or speaks plain MQTT to the TLS port: its side says why; here, a debug line.
      server.on('tlsClientError', (err, socket) => this.log.debug({ err: err.message, remote: socket.remoteAddress }, 'TLS handshake failed'));
      this.tlsPort = await this.listen(server, o.tls.host, o.tls.port, 'broker.tls.port');
    }
    this.revokeTimer = setInterval(() => this.dropRevoked(), REVOKE_CHECK_MS);
    this.revokeTimer.unref();
    const plainHost = o.plain === 'off' ? null : o.plain === 'loopback' ? '127.0.0.1' : o.host;
    this.log.info(
      { host: plainHost, port: this.port || null, tlsHost: o.tls?.host ?? null, tlsPort: this.tlsPort || null, identities: this.identities.list().length, allowAnonymous: o.allowAnonymous },
      'embedded MQTT broker listening',
    );
  }

  private async listen(server: net.Server, host: string, port: number, key: string): Promise<number> {
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(new VoiceError('VOICE_BROKER_FAILED', `embedded broker cannot listen on ${host}:${port}: ${err.code ?? err.message}; set ${key} or mqtt.url`, undefined, { cause: err }));
      });
      server.listen(port, host, () => resolve());
    });
    return (server.address() as net.AddressInfo).port;
  }

  private who(client: Client | null): Principal {
    // A client is always authenticated before it can subscribe or receive; none is never given rights.
    return (client && this.principals.get(client)) ?? { name: '', role: 'satellite', secret: '' };
  }

  private async authenticate(client: Client, username: string | undefined, password: string | undefined): Promise<Principal> {
    const refuse = (why: string, returnCode = 5) => Object.assign(new Error(why), { returnCode });
    if (!username) {
      if (this.opts.allowAnonymous) return { name: '', role: 'anonymous' };
      throw refuse('no credentials (broker.allowAnonymous is off)');
    }
    const who = await this.identities.verify(username, password ?? '');
    if (!who) throw refuse('unknown identity or wrong secret');
    const id = client.id;
    if (who.role === 'satellite' && id !== `${SATELLITE_CLIENT_PREFIX}${who.name}`) throw refuse(`satellite ${who.name} must connect with client id ${SATELLITE_CLIENT_PREFIX}${who.name}`, 2);
    if (who.role !== 'satellite' && id.startsWith(SATELLITE_CLIENT_PREFIX)) throw refuse(`client ids starting ${SATELLITE_CLIENT_PREFIX} are the satellites'`, 2);
    if (who.role !== 'hub' && id === this.opts.hubClientId) throw refuse("the hub's client id", 2);
    const holder = this.clients.get(id);
    const held = holder ? this.principals.get(holder) : undefined;
    if (held && held.name !== who.name) throw refuse(`client id ${id} is in use by another identity`, 2);
    return who;
  }

  /** Logs a denial once per client and reason. */
  private deny(client: Client, what: string, topic: string, why: string): void {
    let seen = this.logged.get(client);
    if (!seen) this.logged.set(client, (seen = new Set()));
    const key = `${what}\0${why}`;
    if (seen.has(key)) return;
    seen.add(key);
    const p = this.who(client);
    this.log.warn({ clientId: client.id, identity: p.name, role: p.role, topic, reason: why }, `embedded broker refused a ${what} (logged once per client and reason)`);
  }

  /** Reports a connection closed for an oversized packet, once per client per minute (with the count since). */
  private oversize(o: Oversize): void {
    const client = o.client as Client | undefined;
    const p = client ? this.principals.get(client) : undefined;
    if (o.bytes < 0) {
      this.log.debug({ clientId: client?.id, remote: o.remote }, 'malformed MQTT packet length; connection closed');
      return;
    }
    const key = p?.name ? `identity ${p.name}` : `address ${o.remote ?? '?'}`;
    const t = Date.now();
    const last = this.oversized.get(key);
    if (last && t - last.at < OVERSIZE_REPORT_MS) {
      last.quiet++;
      return;
    }
    if (this.oversized.size > 1024) this.oversized.clear();
    this.oversized.set(key, { at: t, quiet: 0 });
    const who = p?.name ? `${p.role} ${p.name}` : `a client at ${o.remote ?? 'an unknown address'} (not yet authenticated)`;
    this.opts.report('VOICE_MQTT_PACKET_TOO_LARGE', `${who} sent a ${o.bytes}-byte MQTT packet, over broker.maxPacketBytes (${this.opts.maxPacketBytes}); connection closed`, {
      satellite: p?.role === 'satellite' ? p.name : undefined,
      log: { clientId: client?.id, identity: p?.name, remote: o.remote, bytes: o.bytes, limit: this.opts.maxPacketBytes, refusedSinceLastReport: last?.quiet ?? 0 },
    });
  }

  /** Disconnects the clients of identities removed from the store (or removed and added again with a new secret). */
  private dropRevoked(): void {
    try {
      if (!this.identities.refresh()) return;
    } catch (err) {
      this.log.error({ err }, 'cannot read the identity store; keeping the identities read before');
      return;
    }
    for (const client of this.clients.values()) {
      const p = this.principals.get(client);
      if (!p || p.role === 'anonymous') continue;
      if (this.identities.get(p.name)?.secret !== p.secret) {
        this.log.info({ clientId: client.id, identity: p.name }, 'identity removed: disconnecting its client');
        client.close();
      }
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.revokeTimer);
    const aedes = this.aedes;
    // Closing aedes first disconnects its clients, so the servers can close.
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}
