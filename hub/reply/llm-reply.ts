/**
 * The LLM's reply to a transcript no intent or automation answered
 * (docs/intents.md, "The LLM's tools"): stream it from the LLM with the
 * satellite's conversation memory, publishing deltas on reply/partial and
 * speaking each sentence as soon as it is complete. The LLM acts only
 * through tools (hub/llm/tools.ts): each tool call is performed as a spoken
 * intent is (Intents.perform: published with source llm, a built-in's answer
 * at once, else reply.handledWaitMs for an automation's claim), its result
 * goes back as a tool message, and the LLM writes on; at most llm.toolRounds
 * rounds. A sentence that claims an action no tool call of the reply did is
 * not spoken (hub/llm/claim-check.ts). A stop or barge-in aborts the chat,
 * the claim wait and every round after.
 */
import { toVoiceError } from '../../common/errors';
import { now, type TranscriptPayload } from '../../common/protocol';
import type { HubContext } from '../feature';
import type { Intents } from '../intents/feature';
import { ClaimCheck } from '../llm/claim-check';
import type { ChatMessage, LlmClient, LlmToolCall } from '../llm/ollama';
import type { Claims } from './claims';
import type { Reply, ReplySpeaker } from './manager';
import type { ConversationMemory } from './memory';
import { SentenceSplitter } from './sentences';

export interface LlmReplyParts {
  ctx: HubContext;
  llm: LlmClient;
  /** The intents the LLM's tools come from; absent or with none loaded, the LLM has no tools. */
  intents?: Intents;
  claims: Claims;
  memory: ConversationMemory;
  speaker: ReplySpeaker;
  stats: { replies: number; llmErrors: number };
}

/** What the LLM is told a tool call came to. */
export const TOOL_RESULTS = {
  answered: (text: string) => `done: ${text}`,
  claimed: (text: string | undefined) => (text ? `done (an automation claimed it): ${text}` : 'done (an automation claimed it)'),
  notDone: 'not done: nothing is set up to do that',
  unknown: (name: string) => `not done: there is no tool named ${name}`,
} as const;

export class LlmReplies {
  constructor(private readonly p: LlmReplyParts) {}

  async ask(t: TranscriptPayload, transcriptAt: number): Promise<void> {
    const { ctx, speaker } = this.p;
    const c = ctx.config;
    const r = speaker.begin(t.satellite, t.room, t.sessionId, 'llm');
    // Latencies count from the final transcript, the handled wait included.
    r.timings.handledWaitMs = Date.now() - transcriptAt;
    r.startedAt = transcriptAt;
    this.p.stats.replies++;
    const messages: ChatMessage[] = [{ role: 'system', content: c.llm.systemPrompt }, ...this.p.memory.history(t.satellite), { role: 'user', content: t.text }];
    const tools = c.llm.toolRounds > 0 ? (this.p.intents?.tools ?? []) : [];
    const honest = this.p.intents?.unhandled ?? c.reply.apology;
    const check = new ClaimCheck();
    const said: string[] = [];
    const splitter = new SentenceSplitter();
    const speak = (s: string) => {
      const first = check.refused === undefined;
      if (check.pass(s)) said.push(s);
      else if (first) said.push(honest);
      else return;
      speaker.say(r, said[said.length - 1]);
    };
    let pending = '';
    let lastPartialAt = 0;
    const flushPartial = (force: boolean) => {
      if (!pending || (!force && Date.now() - lastPartialAt < c.reply.partialIntervalMs)) return;
      lastPartialAt = Date.now();
      ctx.mqtt.publish(ctx.topics.replyPartial(t.satellite), JSON.stringify({ sessionId: t.sessionId, satellite: t.satellite, delta: pending, text: r.text, time: now() }), { qos: 0 });
      pending = '';
    };
    const aborted = () => r.ctl.signal.aborted;
    let errorCode: string | undefined;
    let rounds = 0;
    try {
      for (;;) {
        const calls: LlmToolCall[] = [];
        let roundText = '';
        for await (const part of this.p.llm.chat(messages, r.ctl.signal, tools.length ? tools : undefined)) {
          if (aborted()) break;
          if (typeof part !== 'string') {
            calls.push(part);
            continue;
          }
          if (r.timings.transcriptToFirstTokenMs === undefined) r.timings.transcriptToFirstTokenMs = Date.now() - r.startedAt;
          const delta = r.text && !roundText && !/^\s/.test(part) ? ` ${part}` : part;
          r.text += delta;
          roundText += delta;
          pending += delta;
          const sentences = splitter.push(delta);
          for (const s of sentences) speak(s);
          flushPartial(sentences.length > 0);
        }
        if (aborted() || calls.length === 0) break;
        // What the LLM wrote before its calls is said while they run.
        for (const s of splitter.flush()) speak(s);
        if (rounds >= c.llm.toolRounds) {
          ctx.log.warn({ satellite: t.satellite, sessionId: t.sessionId, rounds, calls: calls.map((x) => x.name) }, 'the LLM still calls tools after llm.toolRounds rounds: stopped');
          if (said.length === 0) {
            said.push(c.reply.apology);
            speaker.say(r, c.reply.apology);
          }
          break;
        }
        rounds++;
        messages.push({ role: 'assistant', content: roundText, tool_calls: calls.map((x) => ({ function: { name: x.name, arguments: x.arguments } })) });
        for (const call of calls) {
          const content = await this.perform(call, t, r, check);
          if (aborted()) break;
          messages.push({ role: 'tool', tool_name: call.name, content });
        }
        if (aborted()) break;
      }
      if (!aborted()) for (const s of splitter.flush()) speak(s);
    } catch (err) {
      const e = toVoiceError(err, 'VOICE_LLM_FAILED');
      errorCode = e.code;
      this.p.stats.llmErrors++;
      ctx.errors.report(e.code, e.message, { satellite: t.satellite, sessionId: t.sessionId });
      // What was already complete is said; the unfinished tail is dropped; then the apology.
      if (!aborted()) speaker.say(r, c.reply.apology);
    }
    flushPartial(true);
    if (rounds) r.timings.toolRounds = rounds;
    const replaced = check.refused !== undefined ? { reason: 'unbacked-claim' as const, text: r.text.trim() } : undefined;
    if (replaced) ctx.log.warn({ satellite: t.satellite, sessionId: t.sessionId, llmText: replaced.text, said: honest }, 'the LLM claimed an action no tool call did: not spoken, the honest sentence instead');
    const text = replaced ? said.join(' ') : r.text.trim() || said.join(' ');
    speaker.publishReply(r, text, { model: c.llm.model, error: errorCode, ...(replaced ? { replaced } : {}) });
    if (text && !errorCode) this.p.memory.remember(t.satellite, t.text, text);
    await speaker.finish(r, errorCode ? c.reply.apology : text);
  }

  /** Performs one tool call as a spoken intent is; returns what the LLM is told. */
  private async perform(call: LlmToolCall, t: TranscriptPayload, r: Reply, check: ClaimCheck): Promise<string> {
    const { ctx, intents, claims } = this.p;
    const done = intents?.perform(call.name, call.arguments, { satellite: t.satellite, room: t.room, sessionId: t.sessionId, text: t.text });
    let result: string;
    if (!done) result = TOOL_RESULTS.unknown(call.name);
    else if ('answer' in done) {
      check.done();
      result = TOOL_RESULTS.answered(done.answer);
    } else {
      const h = r.ctl.signal.aborted ? null : await claims.wait(t.satellite, t.sessionId, ctx.config.reply.handledWaitMs, r.ctl);
      if (h) check.done();
      result = h ? TOOL_RESULTS.claimed(h.text) : TOOL_RESULTS.notDone;
    }
    ctx.log.info({ satellite: t.satellite, sessionId: t.sessionId, tool: call.name, arguments: call.arguments, result }, 'LLM tool call');
    return result;
  }
}
