/**
 * GET /metrics: the hub in Prometheus' text format (prom-client, one
 * registry per hub). Counted from the event bus and the error reporter as
 * things happen; gauges read when scraped. docs/http.md lists every metric.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { HubContext } from '../feature';
import type { HttpParts } from './feature';
import { watchLatencies } from './latency';

/** Seconds: 50 ms to 10 s, the range a voice pipeline's steps fall in. */
const BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];

export class Metrics {
  readonly registry = new Registry();
  private readonly sessions: Counter<'outcome'>;
  private readonly errors: Counter<'code'>;
  private readonly wakeToAudio: Histogram;
  private readonly speechToFinal: Histogram;
  private readonly finalToSpeech: Histogram;
  private unwatch?: () => void;

  constructor(
    private readonly ctx: HubContext,
    parts: HttpParts,
  ) {
    const registers = [this.registry];
    this.sessions = new Counter({ name: 'voice_sessions_total', help: 'Sessions ended, by how: a final reason (stop, endpoint, complete, max-length, timeout, offline, error) or aborted.', labelNames: ['outcome'], registers });
    this.errors = new Counter({ name: 'voice_errors_total', help: 'Errors reported (published on an error topic and logged), by code.', labelNames: ['code'], registers });
    this.wakeToAudio = new Histogram({ name: 'voice_wake_to_audio_seconds', help: "From a wake reaching the hub to the session's first audio frame.", buckets: BUCKETS, registers });
    this.speechToFinal = new Histogram({ name: 'voice_end_of_speech_to_final_seconds', help: 'From the end of speech (the satellite stopped, or the engine or the command judged it over) to the final transcript.', buckets: BUCKETS, registers });
    this.finalToSpeech = new Histogram({ name: 'voice_final_to_first_tts_seconds', help: "From the final transcript to the reply's first audio sent to the satellite.", buckets: BUCKETS, registers });
    let busySeen = 0;
    new Counter({
      name: 'voice_stt_busy_seconds_total',
      help: 'Time the speech-to-text workers spent decoding, summed over sessions (MQTT and HTTP).',
      registers,
      collect() {
        const now = parts.sttBusyMs() / 1000;
        if (now > busySeen) this.inc(now - busySeen);
        busySeen = Math.max(busySeen, now);
      },
    });
    new Gauge({
      name: 'voice_satellites_online',
      help: 'Satellites whose retained status says online.',
      registers,
      collect() {
        this.set(ctx.registry.all().filter((s) => s.online).length);
      },
    });
    new Gauge({
      name: 'voice_stt_sessions_live',
      help: 'Sessions with a recognizer open now.',
      registers,
      collect() {
        this.set(parts.stt()?.liveSessions ?? 0);
      },
    });
    const broker = parts.broker();
    if (broker) {
      new Gauge({
        name: 'voice_broker_clients',
        help: "MQTT clients connected to the hub's embedded broker (the hub's own included).",
        registers,
        collect() {
          this.set(parts.broker()?.clientCount ?? 0);
        },
      });
    }
    collectDefaultMetrics({ register: this.registry, prefix: 'voice_hub_' });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  start(): void {
    const bus = this.ctx.bus;
    this.unwatch = this.ctx.errors.onReport((e) => this.errors.inc({ code: e.code }));
    bus.on(this, 'sessionClosed', (e) => this.sessions.inc({ outcome: e.reason }));
    const histograms = { wakeToAudio: this.wakeToAudio, speechToFinal: this.speechToFinal, finalToSpeech: this.finalToSpeech };
    watchLatencies(bus, this, (kind, ms) => histograms[kind].observe(ms / 1000));
  }

  stop(): void {
    this.ctx.bus.removeOwner(this);
    this.unwatch?.();
  }
}
