/**
 * Intents: every final transcript is matched against the sentence templates
 * (match.ts) and what was understood is published on .../intent, or
 * .../intent/none when nothing matched. The bus hears `intent`, and
 * `understood` tells the reply manager where the transcript goes
 * (docs/intents.md, "Routing"):
 *   - a built-in intent (builtins.ts, or a feature's: answer()): its answer, at once;
 *   - any other intent: an automation's claim within reply.handledWaitMs,
 *     else its unhandled response (never the LLM, which would pretend),
 *     unless the intent says `unclaimed: llm`;
 *   - no intent: an automation's claim, else the LLM.
 * With intents.enabled off, every transcript goes the last way.
 * The LLM's tool calls (hub/llm/tools.ts) come in through perform() and go
 * the same way as a spoken intent: published (source llm), then a built-in's
 * answer, or whatever the reply manager's wait for a claim brings.
 */
import type { IntentNonePayload, IntentPayload, IntentSlot } from '../../common/intent';
import { now, type TranscriptPayload } from '../../common/protocol';
import type { Feature, HubContext, TopicHandlers } from '../feature';
import { type BuiltinAnswer, BUILTINS, type BuiltinHandler, render } from './builtins';
import { generateTools, type LlmTool } from '../llm/tools';
import { type IntentDef, type IntentSet, sentenceCount } from './load';
import { Matcher } from './match';

/** What performing an intent for the LLM gave: a built-in's answer, or the unhandled sentence to fall back on when no automation claims it. */
export type Performed = { intent: IntentPayload; answer: string } | { intent: IntentPayload; unhandled: string };

/** Where the LLM's tool call came from. */
export interface ToolSession {
  satellite: string;
  room: string;
  sessionId: string;
  /** The transcript the LLM is answering. */
  text: string;
}

export class Intents implements Feature {
  readonly name = 'intents';
  readonly subscriptions: string[] = [];
  readonly handlers: TopicHandlers = {};
  private readonly matcher?: Matcher;
  readonly stats = { matched: 0, none: 0 };
  /** Intents the hub answers itself: the clock's (builtins.ts) and those features register (answer()). */
  private readonly answers = new Map<string, BuiltinHandler>(Object.entries(BUILTINS));

  /** The LLM's tools, generated once from the intent set (none when intents.enabled is off). */
  readonly tools: LlmTool[];

  /** `set` is undefined when intents.enabled is off. */
  constructor(
    private readonly ctx: HubContext,
    private readonly set?: IntentSet,
  ) {
    if (set) this.matcher = new Matcher(set.graph, set.skipWords, set.skipPhrases);
    this.tools = set ? generateTools(set) : [];
  }

  /** What is said for an intent nobody handled (responses.unhandled); undefined when intents.enabled is off. */
  get unhandled(): string | undefined {
    return this.set?.unhandled;
  }

  start(): void {
    this.ctx.bus.on(this, 'transcript', (t) => this.onTranscript(t));
  }

  /** A feature answers `intent` itself from now on (hub/timers): its handler's response is said, never the LLM's or the unhandled one. */
  answer(intent: string, handler: BuiltinHandler): void {
    this.answers.set(intent, handler);
  }

  stop(): void {
    this.ctx.bus.removeOwner(this);
  }

  /**
   * An exact match of a template: the command model's words are then the transcript (hub/sessions/commands.ts).
   * Not through a wildcard: the command model knows no free text ("add bread to my shopping list" comes
   * out as "add add to..."), so the general model's hearing of it stands.
   */
  isCommand(text: string): boolean {
    const m = this.matcher?.match(text, 1);
    return m != null && !m.slots.some((s) => s.wild);
  }

  /** For the hub status: what is loaded, and what was heard since the start. */
  summary(): { intents: number; sentences: number; matched: number; none: number; commandModel: boolean } {
    const set = this.set;
    return {
      intents: set?.intents.size ?? 0,
      sentences: set ? sentenceCount(set) : 0,
      ...this.stats,
      commandModel: set !== undefined && this.ctx.config.intents.commandModel,
    };
  }

  /** An exact match no template could go on from: semantic end of speech (hub/sessions/commands.ts). */
  isComplete(text: string): boolean {
    return this.matcher?.complete(text) === true;
  }

  /** Matches text as the hub would a satellite's transcript (tests, diagnostics). */
  understand(text: string, satellite = '', room = 'default', sessionId = ''): IntentPayload | undefined {
    const started = performance.now();
    const m = this.matcher?.match(text, this.ctx.config.intents.minConfidence);
    if (!m) return undefined;
    const slots: Record<string, IntentSlot> = {};
    for (const s of m.slots) slots[s.name] = { name: s.name, value: s.value, text: s.text, ...(s.text === '' ? { source: 'sentence' as const } : {}) };
    // "turn off the lights" said in the bedroom means the bedroom; a device named is where it is.
    if (m.sentence.areaFromRoom && !slots.area && !slots.name) slots.area = { name: 'area', value: room, text: '', source: 'room' };
    return { sessionId, satellite, room, intent: m.intent, slots, confidence: m.confidence, exact: m.exact, text, source: 'speech', time: now(), timings: { matchMs: Math.round((performance.now() - started) * 100) / 100 } };
  }

  private onTranscript(t: TranscriptPayload): void {
    try {
      this.route(t);
    } catch (err) {
      // The reply manager waits for `understood`: a failure here must not leave the transcript unanswered.
      this.ctx.log.error({ code: 'VOICE_INTERNAL', err, satellite: t.satellite, sessionId: t.sessionId }, 'intent matching failed; the transcript goes on as one with no intent');
      this.ctx.bus.emit('understood', { transcript: t, toLlm: true });
    }
  }

  /**
   * A built-in handler's answer. The hub's own intents never go to the LLM, which would pretend: a handler
   * that fails says the apology; a response name the intent files lack says the default response.
   */
  private answerOf(handler: BuiltinHandler, intent: IntentPayload, vars: Record<string, string>): string {
    let a: BuiltinAnswer;
    try {
      a = handler(intent, { timeZone: this.ctx.config.hub.timeZone || undefined });
    } catch (err) {
      this.ctx.log.error({ code: 'VOICE_INTERNAL', err, intent: intent.intent, satellite: intent.satellite }, 'built-in intent handler failed');
      return this.ctx.config.reply.apology;
    }
    const responses = this.set?.intents.get(intent.intent)?.responses ?? {};
    const name = a.response ?? 'default';
    if (responses[name] === undefined && name !== 'default') this.ctx.log.warn({ intent: intent.intent, response: name }, 'the intent files have no such response: the default one is said');
    return render(responses[name] ?? responses.default ?? '', { ...vars, ...a.vars });
  }

  private route(t: TranscriptPayload): void {
    const bus = this.ctx.bus;
    if (!this.set || t.text.trim() === '') return bus.emit('understood', { transcript: t, toLlm: true });
    const intent = this.understand(t.text, t.satellite, t.room, t.sessionId);
    if (!intent) {
      this.stats.none++;
      const none: IntentNonePayload = { sessionId: t.sessionId, satellite: t.satellite, room: t.room, text: t.text, source: 'speech', time: now() };
      this.ctx.mqtt.publish(this.ctx.topics.intentNone(t.satellite), JSON.stringify(none), { qos: 1 });
      this.ctx.log.info({ satellite: t.satellite, sessionId: t.sessionId, text: t.text }, 'no intent');
      return bus.emit('understood', { transcript: t, toLlm: true });
    }
    this.stats.matched++;
    bus.emit('understood', { transcript: t, ...this.publish(intent) });
  }

  /** Publishes an intent on .../intent and the bus; then its built-in answer, or the unhandled sentence (unless it goes to the LLM). */
  private publish(intent: IntentPayload): { intent: IntentPayload; answer?: string; unhandled?: string; toLlm: boolean } {
    this.ctx.mqtt.publish(this.ctx.topics.intent(intent.satellite), JSON.stringify(intent), { qos: 1 });
    this.ctx.log.info({ satellite: intent.satellite, sessionId: intent.sessionId, intent: intent.intent, source: intent.source, confidence: intent.confidence, slots: Object.fromEntries(Object.values(intent.slots).map((s) => [s.name, s.value])) }, 'intent');
    this.ctx.bus.emit('intent', intent);
    const def = this.set?.intents.get(intent.intent);
    const vars: Record<string, string> = {};
    for (const s of Object.values(intent.slots)) vars[s.name] = s.text || String(s.value);
    const builtin = this.answers.get(intent.intent);
    if (builtin) return { intent, answer: this.answerOf(builtin, intent, vars), toLlm: false };
    const llm = def?.unclaimed === 'llm' && intent.source === 'speech';
    return { intent, unhandled: llm ? undefined : render(def?.responses.unhandled ?? this.set?.unhandled ?? '', vars), toLlm: llm };
  }

  /**
   * The LLM called the tool `name` (an intent) with `args`: the intent is published with source llm, exactly as a
   * spoken one is, and its built-in answer returned, or its unhandled sentence for when no automation claims it.
   * Undefined for a name that is no tool. Numbers the LLM sent as text are read as numbers.
   */
  perform(name: string, args: Record<string, unknown>, session: ToolSession): Performed | undefined {
    const tool = this.tools.find((t) => t.function.name === name);
    const def = this.set?.intents.get(name);
    if (!tool || !def) return undefined;
    const slots: Record<string, IntentSlot> = {};
    for (const [k, raw] of Object.entries(args)) {
      const p = tool.function.parameters.properties[k];
      const number = p?.type === 'integer' || p?.type === 'number';
      const value = number && typeof raw === 'string' && raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') slots[k] = { name: k, value, text: String(value) };
    }
    if (areaFromRoom(def) && !slots.area && !slots.name) slots.area = { name: 'area', value: session.room, text: '', source: 'room' };
    const intent: IntentPayload = { sessionId: session.sessionId, satellite: session.satellite, room: session.room, intent: name, slots, confidence: 1, exact: true, text: session.text, source: 'llm', time: now(), timings: { matchMs: 0 } };
    const p = this.publish(intent);
    return p.answer !== undefined ? { intent, answer: p.answer } : { intent, unhandled: p.unhandled ?? '' };
  }
}

const areaFromRoom = (def: IntentDef): boolean => def.sentences.some((s) => s.areaFromRoom);
