/**
 * The reply pipeline, after a final transcript and what it meant (bus:
 * understood, from hub/intents; docs/intents.md, "Routing"):
 *   0. a built-in intent's answer is spoken at once;
 *   1. give automations `reply.handledWaitMs` to claim it on .../handled
 *      (with text to speak, or without to keep the hub quiet);
 *   2. otherwise an intent gets its unhandled response (the LLM would pretend
 *      it acted), and a transcript that matched no intent a chat reply
 *      (llm-reply.ts): streamed from the LLM, which acts only through tools,
 *      publishing deltas on reply/partial and the whole on reply;
 *   3. split the stream into sentences and speak each as soon as it is
 *      complete, publishing PCM chunks on tts/<sessionId> while the LLM is
 *      still writing;
 *   4. abort everything (LLM request, queued and running synthesis) on a stop
 *      command, a new wake (barge-in) or a played{stopped} from the satellite;
 *   5. on any LLM failure: coded error, the transcript stands, the apology is
 *      spoken, and the next session tries the LLM again.
 * Announcements (announce topics) use steps 3-4 with given text.
 */
import { randomUUID } from 'node:crypto';
import { type ErrorCode, toVoiceError } from '../../common/errors';
import { now, parseJson, type ReplyPayload, validateCommand, validateHandled, validatePlayed } from '../../common/protocol';
import type { Understood } from '../bus';
import type { Feature, HubContext, TopicHandlers } from '../feature';
import type { Intents } from '../intents/feature';
import type { ChatMessage, LlmClient } from '../llm/ollama';
import type { TtsEngine, TtsFormat } from '../tts/engine';
import { ring, type RingStream } from './alarm';
import { Claims } from './claims';
import { LlmReplies } from './llm-reply';
import { ConversationMemory } from './memory';
import { asksQuestion, SentenceSplitter } from './sentences';

export interface Reply {
  id: string;
  satellite: string;
  room: string;
  source: ReplyPayload['source'];
  ctl: AbortController;
  startedAt: number;
  chain: Promise<void>;
  ttsStarted: boolean;
  ttsFailed: boolean;
  /** Audio bytes published on the stream. */
  sentBytes: number;
  text: string;
  timings: Record<string, number>;
  firstSentenceAt?: number;
}

/** The alarm's format when no TTS engine runs (the satellite plays any rate it is told). */
const ALARM_FORMAT: TtsFormat = { encoding: 's16le', rate: 16000, channels: 1 };

export interface ReplyEngines {
  llm: LlmClient;
  /** Absent when no TTS engine could start: replies are published as text only. */
  tts?: TtsEngine;
  /** Where the LLM's tools come from and go to (Intents.tools, Intents.perform); absent: the LLM has no tools. */
  intents?: Intents;
}

/** What the LLM reply (llm-reply.ts) needs of the manager to speak. */
export interface ReplySpeaker {
  begin(satellite: string, room: string, id: string, source: Reply['source']): Reply;
  say(r: Reply, sentence: string): void;
  publishReply(r: Reply, text: string, extra: Partial<ReplyPayload>): void;
  finish(r: Reply, text: string): Promise<void>;
}

export class ReplyManager implements Feature {
  readonly name = 'replies';
  readonly subscriptions: string[];
  readonly handlers: TopicHandlers;
  private readonly active = new Map<string, Reply>(); // satellite -> reply being produced or spoken
  private readonly claims = new Claims();
  private readonly memory: ConversationMemory;
  private readonly llmReplies: LlmReplies;
  readonly stats = { replies: 0, aborted: 0, llmErrors: 0 };

  constructor(
    private readonly ctx: HubContext,
    private readonly engines: ReplyEngines,
  ) {
    this.memory = new ConversationMemory({ turns: ctx.config.llm.historyTurns, idleMs: ctx.config.llm.historyIdleMs });
    const speaker: ReplySpeaker = {
      begin: (...a) => this.begin(...a),
      say: (r, sentence) => this.say(r, sentence),
      publishReply: (r, text, extra) => this.publishReply(r, text, extra),
      finish: (r, text) => this.finish(r, text),
    };
    this.llmReplies = new LlmReplies({ ctx, llm: engines.llm, intents: engines.intents, claims: this.claims, memory: this.memory, speaker, stats: this.stats });
    const s = ctx.topics.sub;
    this.subscriptions = [s.allHandled, s.allCommands, s.allPlayed];
    this.handlers = {
      handled: (t, payload, topic) => this.claims.claim(t.satellite, validateHandled(topic, parseJson(topic, payload))),
      command: (t, payload, topic) => {
        // The satellite reports bad commands itself; the hub only acts on stop and mute.
        let command;
        try {
          command = validateCommand(topic, parseJson(topic, payload));
        } catch {
          return;
        }
        ctx.bus.emit('command', { satellite: t.satellite, command });
        if (command.command === 'stop' || command.command === 'mute') this.abortSatellite(t.satellite, `${command.command} command`);
      },
      played: (t, payload, topic) => {
        const played = validatePlayed(topic, parseJson(topic, payload));
        ctx.bus.emit('played', { satellite: t.satellite, played });
        if (played.reason !== 'done') this.abortSatellite(t.satellite, `playback ${played.reason}`);
      },
    };
  }

  start(): void {
    const bus = this.ctx.bus;
    // A new wake interrupts whatever the satellite was saying (barge-in).
    bus.on(this, 'wake', ({ satellite }) => this.abortSatellite(satellite, 'wake'));
    bus.on(this, 'satelliteOffline', (sat) => this.abortSatellite(sat.id, 'satellite offline'));
    bus.on(this, 'understood', (u) => this.onUnderstood(u));
    bus.on(this, 'speak', ({ satellites, text, source }) => this.announce(satellites, text, source));
    bus.on(this, 'ring', ({ satellite, text, timerId }) => void this.ring(satellite, text, timerId));
  }

  get activeCount(): number {
    return this.active.size;
  }

  /** Every final transcript, with its intent (bus: understood). */
  private onUnderstood(u: Understood): void {
    const t = u.transcript;
    // The hub builds this feature only when reply.enabled is on.
    if (t.text.trim() === '') return;
    const transcriptAt = Date.now();
    this.abortSatellite(t.satellite, 'new transcript');
    this.ctx.bus.emit('replyStarted', { satellite: t.satellite, sessionId: t.sessionId });
    if (u.answer !== undefined) {
      this.ctx.log.info({ satellite: t.satellite, sessionId: t.sessionId, intent: u.intent?.intent }, 'answered by a built-in intent');
      if (u.answer) void this.speakText(t.satellite, t.room, t.sessionId, u.answer, 'intent');
      else this.ctx.bus.emit('replyFinished', { satellite: t.satellite, sessionId: t.sessionId, aborted: false, spoke: false });
      return;
    }
    const ctl = new AbortController();
    const claim = this.claims.wait(t.satellite, t.sessionId, this.ctx.config.reply.handledWaitMs, ctl);
    void claim.then((h) => {
      const nothing = (aborted: boolean) => this.ctx.bus.emit('replyFinished', { satellite: t.satellite, sessionId: t.sessionId, aborted, spoke: false });
      if (ctl.signal.aborted) return nothing(true);
      if (h) {
        this.ctx.log.info({ satellite: t.satellite, sessionId: t.sessionId, speak: h.text !== undefined }, 'transcript handled by an automation');
        if (h.text) void this.speakText(t.satellite, t.room, t.sessionId, h.text, 'automation');
        else nothing(false);
        return;
      }
      if (!u.toLlm && u.unhandled !== undefined) {
        this.ctx.log.info({ satellite: t.satellite, sessionId: t.sessionId, intent: u.intent?.intent }, 'intent not claimed by any automation: unhandled response');
        if (u.unhandled) void this.speakText(t.satellite, t.room, t.sessionId, u.unhandled, 'intent');
        else nothing(false);
        return;
      }
      void this.llmReplies.ask(t, transcriptAt);
    });
  }

  /** Speaks `text` on the given satellites (bus: speak). */
  private announce(targets: string[], text: string, source: ReplyPayload['source']): void {
    for (const id of targets) void this.speakText(id, this.ctx.registry.get(id)?.room ?? 'default', randomUUID(), text, source);
  }

  /** Stops whatever the satellite is being told, LLM request included. */
  abortSatellite(satellite: string, why: string): void {
    this.claims.abort(satellite);
    const r = this.active.get(satellite);
    if (!r) return;
    this.ctx.log.info({ satellite, sessionId: r.id, why }, 'reply aborted');
    this.stats.aborted++;
    r.ctl.abort();
  }

  private error(satellite: string, code: ErrorCode, message: string, sessionId: string): void {
    this.ctx.errors.report(code, message, { satellite, sessionId });
  }

  private begin(satellite: string, room: string, id: string, source: Reply['source']): Reply {
    this.abortSatellite(satellite, 'replaced');
    const r: Reply = { id, satellite, room, source, ctl: new AbortController(), startedAt: Date.now(), chain: Promise.resolve(), ttsStarted: false, ttsFailed: false, sentBytes: 0, text: '', timings: {} };
    this.active.set(satellite, r);
    if (source === 'announce' || source === 'timer') this.ctx.bus.emit('replyStarted', { satellite, sessionId: id });
    return r;
  }

  /** Queues one sentence for synthesis; sentences play in order. */
  private say(r: Reply, sentence: string): void {
    if (r.firstSentenceAt === undefined) r.firstSentenceAt = Date.now();
    r.chain = r.chain.then(() => this.synthesize(r, sentence));
  }

  private async synthesize(r: Reply, sentence: string): Promise<void> {
    const tts = this.engines.tts;
    if (r.ctl.signal.aborted || r.ttsFailed || !tts) return;
    const t0 = Date.now();
    try {
      for await (const chunk of tts.synthesize(sentence, r.ctl.signal)) {
        if (r.ctl.signal.aborted) return;
        if (!r.ttsStarted) {
          r.timings.firstSentenceToFirstAudioMs = Date.now() - (r.firstSentenceAt ?? t0);
          r.timings.firstSynthesisMs = Date.now() - t0;
        }
        this.send(r, chunk, tts.format, tts.name);
      }
      const gap = Math.round((this.ctx.config.tts.sentenceSilenceMs * tts.format.rate) / 1000) * 2;
      if (r.ttsStarted && gap > 0 && !r.ctl.signal.aborted) this.send(r, Buffer.alloc(gap), tts.format, tts.name);
    } catch (err) {
      r.ttsFailed = true;
      const e = toVoiceError(err, 'VOICE_TTS_FAILED');
      this.error(r.satellite, e.code, e.message, r.id);
    }
  }

  /** Publishes audio on the reply's stream, opening it first. Start, chunks and stop all go at QoS 0 so the broker keeps them in order. */
  private send(r: Reply, chunk: Buffer, format: TtsFormat, engine: string): void {
    if (!r.ttsStarted) {
      r.ttsStarted = true;
      r.timings.startToFirstAudioMs = Date.now() - r.startedAt;
      this.ctx.bus.emit('replySpeaking', { satellite: r.satellite, sessionId: r.id });
      this.ctx.mqtt.publish(this.ctx.topics.ttsStart(r.satellite, r.id), JSON.stringify({ sessionId: r.id, format, engine, time: now() }), { qos: 0 });
    }
    r.sentBytes += chunk.length;
    this.ctx.mqtt.publish(this.ctx.topics.tts(r.satellite, r.id), chunk, { qos: 0 });
  }

  /** A finished timer rings on its satellite (bus: ring; alarm.ts). */
  private async ring(satellite: string, text: string, timerId: string): Promise<void> {
    const r = this.begin(satellite, this.ctx.registry.roomOf(satellite), randomUUID(), 'timer');
    const format = this.engines.tts?.format ?? ALARM_FORMAT;
    const stream: RingStream = {
      signal: r.ctl.signal,
      audio: (pcm) => {
        r.chain = r.chain.then(() => {
          if (!r.ctl.signal.aborted) this.send(r, pcm, format, this.engines.tts?.name ?? 'alarm');
        });
      },
      say: (s) => this.say(r, s),
      sent: () => r.chain,
      sentMs: () => (r.sentBytes / 2 / format.rate) * 1000,
    };
    this.ctx.log.info({ satellite, timerId, sessionId: r.id }, 'timer ringing');
    this.publishReply(r, text, {});
    await ring(stream, format, text, this.ctx.config.timers.ringLimitS * 1000);
    await this.finish(r, text);
  }

  /** Waits for queued speech, closes the TTS stream and releases the satellite. */
  private async finish(r: Reply, text: string): Promise<void> {
    await r.chain;
    const aborted = r.ctl.signal.aborted;
    if (r.ttsStarted) {
      const followUp = !aborted && this.ctx.config.reply.followUp && asksQuestion(text);
      this.ctx.mqtt.publish(this.ctx.topics.ttsStop(r.satellite, r.id), JSON.stringify({ sessionId: r.id, reason: aborted ? 'aborted' : 'done', followUp, time: now() }), { qos: 0 });
    }
    if (this.active.get(r.satellite) === r) this.active.delete(r.satellite);
    r.timings.totalMs = Date.now() - r.startedAt;
    this.ctx.log.info({ satellite: r.satellite, sessionId: r.id, source: r.source, aborted, timings: r.timings }, 'reply finished');
    this.ctx.bus.emit('replyFinished', { satellite: r.satellite, sessionId: r.id, aborted, spoke: r.ttsStarted });
  }

  private publishReply(r: Reply, text: string, extra: Partial<ReplyPayload>): void {
    const p: ReplyPayload = { sessionId: r.id, satellite: r.satellite, room: r.room, text, source: r.source, ...extra, time: now(), timings: { ...r.timings } };
    if (r.ctl.signal.aborted) p.aborted = true;
    this.ctx.mqtt.publish(this.ctx.topics.reply(r.satellite), JSON.stringify(p), { qos: 1 });
    this.ctx.bus.emit('reply', p);
  }

  private async speakText(satellite: string, room: string, id: string, text: string, source: Reply['source']): Promise<void> {
    const r = this.begin(satellite, room, id, source);
    this.stats.replies++;
    const splitter = new SentenceSplitter();
    for (const s of [...splitter.push(`${text} `), ...splitter.flush()]) this.say(r, s);
    this.publishReply(r, text, {});
    await this.finish(r, text);
  }

  /** Conversation memory of a satellite (for tests and diagnostics). */
  memoryOf(satellite: string): ChatMessage[] {
    return this.memory.history(satellite);
  }

  stop(): void {
    this.ctx.bus.removeOwner(this);
    for (const sat of [...this.active.keys(), ...this.claims.satellites()]) this.abortSatellite(sat, 'shutdown');
  }
}
