/**
 * A cap on the size of MQTT packets a client may send to the embedded
 * broker (broker.maxPacketBytes). aedes' parser (mqtt-packet) buffers a
 * packet until it is complete, and MQTT allows 256 MB: one client, before
 * it has even authenticated, could make the hub hold that much. The cap
 * reads each packet's fixed header as the bytes arrive (type byte, then the
 * remaining length, 1-4 bytes of 7 bits) and closes the connection as soon
 * as a header declares a packet larger than the cap, before its body is
 * read. Bytes pass through unchanged; what the broker writes goes straight
 * to the socket.
 */
import { Duplex } from 'node:stream';

/** Follows packet boundaries in a client's byte stream; returns a packet's total size once its header is read. */
export class PacketScanner {
  private phase: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private lengthBytes = 0;
  private left = 0;

  /** Feeds bytes; returns the total size of the first packet (in these bytes) over `max`, -1 for a malformed length, else 0. */
  scan(b: Buffer, max: number): number {
    for (let i = 0; i < b.length; ) {
      if (this.phase === 'body') {
        const n = Math.min(this.left, b.length - i);
        this.left -= n;
        i += n;
        if (this.left === 0) this.phase = 'type';
        continue;
      }
      const byte = b[i++];
      if (this.phase === 'type') {
        this.phase = 'length';
        this.length = 0;
        this.lengthBytes = 0;
        continue;
      }
      this.length += (byte & 0x7f) * 128 ** this.lengthBytes++;
      if (byte & 0x80) {
        if (this.lengthBytes === 4) return -1; // a fifth length byte: not MQTT
        continue;
      }
      const total = 1 + this.lengthBytes + this.length;
      if (total > max) return total;
      this.left = this.length;
      this.phase = this.left > 0 ? 'body' : 'type';
    }
    return 0;
  }
}

/** What the broker hears about a connection the cap closed. */
export interface Oversize {
  /** The declared size of the packet, in bytes (-1: a malformed length). */
  bytes: number;
  remote: string | undefined;
  /** The MQTT client the connection belonged to, if it had connected. */
  client: unknown;
}

/**
 * Wraps a client's socket for aedes: reads are scanned, writes and the end
 * pass through. `clientOf` is read when a packet is refused (aedes sets
 * `conn.client` once a client exists on the stream).
 */
export class CappedConnection extends Duplex {
  private readonly scanner = new PacketScanner();
  client: unknown;

  constructor(
    private readonly socket: Duplex & { remoteAddress?: string },
    max: number,
    onOversize: (o: Oversize) => void,
  ) {
    super({ allowHalfOpen: false });
    socket.on('data', (b: Buffer) => {
      const bytes = max > 0 ? this.scanner.scan(b, max) : 0;
      if (bytes !== 0) {
        onOversize({ bytes, remote: socket.remoteAddress, client: this.client });
        socket.destroy();
        return;
      }
      if (!this.push(b)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.socket.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }
}
