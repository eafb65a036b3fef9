/**
 * Measures the broker's forwarding latency as a satellite's audio sees it:
 * one MQTT client publishes 3200-byte frames (100 ms of 16 kHz audio) at
 * QoS 0 every 20-100 ms (a fixed pseudo-random sequence), a second client
 * subscribes to their topic, and each frame's latency is its publish ->
 * delivery time (performance.now(), both clients in this process; the
 * broker is elsewhere). A frame carries its sequence number in its first 4
 * bytes. Used by test/tts-forwarding.test.ts and the bench
 * (scripts/bench/loop.ts), so the test's bound and the bench's figures
 * measure the same thing.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { adminAuth } from './credentials';

export const FRAME_BYTES = 3200;
const WARM_UP = 0xffffffff;

/** The p-th percentile (nearest rank) of `xs`; NaN for none. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export interface ForwardResult {
  /** Publish -> delivery, ms, one per delivered frame, in delivery order. */
  latencies: number[];
  sent: number;
  lost: number;
}

export interface ForwardProbe {
  /** Frames published so far. */
  readonly sent: number;
  /** Resolves once `n` frames have been published. */
  published(n: number, timeoutMs: number): Promise<void>;
  /** Stops publishing, waits up to 2 s for frames still on their way, closes both clients. */
  stop(): Promise<ForwardResult>;
  /** The clients' disconnections seen ('close' events): 0 when the broker stayed up. */
  readonly disconnects: number;
}

export async function startForwardProbe(url: string, topic = 'probe/forward'): Promise<ForwardProbe> {
  const pub: MqttClient = await mqtt.connectAsync(url, { ...adminAuth(url), reconnectPeriod: 0 });
  const sub: MqttClient = await mqtt.connectAsync(url, { ...adminAuth(url), reconnectPeriod: 0 });
  let disconnects = 0;
  let closing = false;
  for (const c of [pub, sub]) c.on('close', () => (closing ? undefined : disconnects++));
  const sentAt: number[] = [];
  const latencies: number[] = [];
  let warm: (() => void) | undefined;
  sub.on('message', (_t, payload) => {
    const at = performance.now();
    const seq = payload.readUInt32LE(0);
    if (seq === WARM_UP) warm?.();
    const t0 = sentAt[seq];
    if (t0 !== undefined) latencies.push(at - t0);
  });
  await sub.subscribeAsync(topic, { qos: 0 });
  // A first frame on fresh connections takes ~40 ms (TCP's delayed ACK): one that is not counted goes first.
  const warmed = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the warm-up frame was not forwarded within 5 s')), 5000);
    warm = () => (clearTimeout(t), resolve());
  });
  const w = Buffer.alloc(FRAME_BYTES);
  w.writeUInt32LE(WARM_UP, 0);
  pub.publish(topic, w, { qos: 0 });
  await warmed;
  let seed = 12345;
  const gap = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return 20 + (seed % 81);
  };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const waiters: { n: number; resolve: () => void }[] = [];
  const send = () => {
    if (stopped) return;
    const frame = Buffer.alloc(FRAME_BYTES);
    frame.writeUInt32LE(sentAt.length, 0);
    sentAt.push(performance.now());
    pub.publish(topic, frame, { qos: 0 });
    for (const w of [...waiters]) {
      if (sentAt.length >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
    timer = setTimeout(send, gap());
  };
  send();
  return {
    get sent() {
      return sentAt.length;
    },
    get disconnects() {
      return disconnects;
    },
    published(n, timeoutMs) {
      if (sentAt.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const w = { n, resolve: () => (clearTimeout(t), resolve()) };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`only ${sentAt.length} of ${n} frames published within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      const end = Date.now() + 2000;
      while (latencies.length < sentAt.length && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      closing = true;
      await Promise.all([pub.endAsync(), sub.endAsync()]);
      return { latencies, sent: sentAt.length, lost: sentAt.length - latencies.length };
    },
  };
}
