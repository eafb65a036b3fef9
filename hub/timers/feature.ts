/**
 * Timers (docs/intents.md, "Timers"): the hub answers the timer intents
 * itself (Intents.answer), keeps several timers per satellite, optionally
 * named, in hub.stateDir/timers.json (book.ts), and publishes each change on
 * .../timer and the satellite's list, retained, on .../timers. A timer that
 * ends rings on the satellite that started it (bus: ring; the reply manager
 * plays the alarm and says which timer it was); when that satellite is
 * offline, or the hub was down when it ended, it rings once the satellite
 * is online again.
 */
import * as path from 'node:path';
import type { IntentPayload } from '../../common/intent';
import { now } from '../../common/protocol';
import type { TimerEvent, TimerPayload, TimersPayload } from '../../common/timer';
import type { SatelliteState } from '../bus';
import type { Feature, HubContext, TopicHandlers } from '../feature';
import type { BuiltinAnswer } from '../intents/builtins';
import type { Intents } from '../intents/feature';
import { type Timer, TimerBook } from './book';
import { duration, listed, slotsMs } from './words';

/** "Cancel the timer" this soon after a timer's ringing could have ended (timers.ringLimitS after it began) means that one. */
const RANG_MS = 60_000;

/** A satellite in these states is busy with a person: a timer that ends then rings when it is done. */
const BUSY: ReadonlySet<SatelliteState> = new Set(['listening', 'processing', 'responding']);

/** setTimeout's longest wait; a later timer is looked at again then. */
const MAX_WAIT_MS = 2 ** 31 - 1;

export class Timers implements Feature {
  readonly name = 'timers';
  readonly subscriptions: string[] = [];
  readonly handlers: TopicHandlers = {};
  readonly book: TimerBook;
  private readonly clock: () => number;
  private wait: NodeJS.Timeout | undefined;
  /** Satellite -> the timer that last rang there, and when it began (cancelOrQuiet). */
  private readonly rang = new Map<string, { at: number; timer: string }>();
  readonly stats = { started: 0, finished: 0, rung: 0 };

  constructor(
    private readonly ctx: HubContext,
    intents: Intents,
    clock: () => number = Date.now,
  ) {
    this.clock = clock;
    this.book = new TimerBook(path.join(ctx.config.hub.stateDir, 'timers.json'), clock, (err) =>
      ctx.log.error({ code: 'VOICE_INTERNAL', err }, 'timers file not written: the timers go on, but a restart now would lose the change'),
    );
    const answers: Record<string, (i: IntentPayload) => BuiltinAnswer> = {
      HassStartTimer: (i) => this.startTimer(i),
      HassCancelTimer: (i) => this.cancelOrQuiet(i),
      HassCancelAllTimers: (i) => this.cancelAll(i),
      HassPauseTimer: (i) => this.withTimer(i, (t) => this.pause(t)),
      HassUnpauseTimer: (i) => this.withTimer(i, (t) => this.resume(t)),
      HassIncreaseTimer: (i) => this.withTimer(i, (t) => this.add(t, slotsMs(i.slots))),
      HassDecreaseTimer: (i) => this.withTimer(i, (t) => this.add(t, -slotsMs(i.slots))),
      HassTimerStatus: (i) => this.status(i),
    };
    for (const [intent, handler] of Object.entries(answers)) intents.answer(intent, handler);
  }

  /** For the hub status: timers kept now (running, paused, or waiting to ring), and counts since the start. */
  summary(): { kept: number; started: number; finished: number; rung: number } {
    return { kept: this.book.size, ...this.stats };
  }

  start(): void {
    try {
      this.book.load();
    } catch (err) {
      // Kept for a person to look at; the next change would otherwise overwrite it.
      const aside = this.book.setAside();
      this.ctx.log.error({ code: 'VOICE_INTERNAL', err, aside }, 'timers file unreadable: set aside, starting with no timers');
    }
    this.ctx.bus.on(this, 'satelliteOnline', (sat) => this.ringDue(sat.id));
    // A satellite busy with a person (listening, thinking, answering) rings once it is done.
    this.ctx.bus.on(this, 'satelliteState', ({ satellite }) => {
      if (!BUSY.has(satellite.state)) this.ringDue(satellite.id);
    });
    for (const sat of this.book.satellites()) this.publishList(sat);
    this.tick();
  }

  stop(): void {
    clearTimeout(this.wait);
    this.ctx.bus.removeOwner(this);
  }

  /** Finishes what is due, then waits for the next timer to end. */
  private tick(): void {
    clearTimeout(this.wait);
    for (const t of this.book.expire()) {
      this.stats.finished++;
      this.ctx.log.info({ satellite: t.satellite, timer: t.id, name: t.name }, 'timer finished');
      this.publish('finished', t);
      this.publishList(t.satellite);
    }
    this.ringDue();
    const next = this.book.nextInMs();
    if (next !== undefined) {
      this.wait = setTimeout(() => this.tick(), Math.min(next, MAX_WAIT_MS));
      this.wait.unref();
    }
  }

  /**
   * Rings the due timers of the satellites online and not busy with a person (one satellite, or all):
   * the timers due on one satellite ring together, once ("The pasta and rice timers are done.").
   */
  private ringDue(satellite?: string): void {
    const bySatellite = new Map<string, Timer[]>();
    for (const t of this.book.dueFor(satellite)) bySatellite.set(t.satellite, [...(bySatellite.get(t.satellite) ?? []), t]);
    for (const [sat, due] of bySatellite) {
      const info = this.ctx.registry.get(sat);
      if (!info?.online || BUSY.has(info.state)) continue;
      for (const t of due) this.book.remove(t);
      this.stats.rung += due.length;
      const one = due.length === 1 ? due[0] : undefined;
      const text = one ? (one.name ? `The ${one.name} timer is done.` : `Your ${this.label(one)} timer is done.`) : `The ${listed(due.map((t) => this.label(t)))} timers are done.`;
      this.rang.set(sat, { at: this.clock(), timer: one ? this.called(one) : `the ${listed(due.map((t) => this.label(t)))} timers` });
      this.ctx.bus.emit('ring', { satellite: sat, text, timerId: due.map((t) => t.id).join(',') });
    }
  }

  private publish(event: TimerEvent, t: Timer): void {
    const p: TimerPayload = { event, satellite: t.satellite, room: t.room, timer: this.book.info(t), time: now() };
    this.ctx.mqtt.publish(this.ctx.topics.timer(t.satellite), JSON.stringify(p), { qos: 1 });
  }

  private publishList(satellite: string): void {
    const p: TimersPayload = { satellite, room: this.ctx.registry.roomOf(satellite), timers: this.book.of(satellite).map((t) => this.book.info(t)), time: now() };
    this.ctx.mqtt.publish(this.ctx.topics.timers(satellite), JSON.stringify(p), { qos: 1, retain: true });
  }

  private changed(event: TimerEvent, t: Timer): void {
    this.publish(event, t);
    this.publishList(t.satellite);
    this.tick();
  }

  private startTimer(i: IntentPayload): BuiltinAnswer {
    const ms = slotsMs(i.slots);
    const running = this.book.of(i.satellite);
    const max = this.ctx.config.timers.max;
    if (running.length >= max) return { response: 'too_many', vars: { count: String(running.length) } };
    const name = nameOf(i);
    if (name && running.some((x) => x.name?.toLowerCase() === name.toLowerCase())) return { response: 'exists', vars: { name } };
    const t = this.book.start(i.satellite, i.room, ms, name);
    this.stats.started++;
    this.ctx.log.info({ satellite: i.satellite, timer: t.id, name, ms }, 'timer started');
    this.changed('started', t);
    return { response: name ? 'named' : 'default', vars: { duration: duration(ms), ...(name ? { name } : {}) } };
  }

  /**
   * The timer an intent means: the one named, or the satellite's only one.
   * None, no such name, or several unnamed: the answer says so and nothing changes.
   */
  private withTimer(i: IntentPayload, act: (t: Timer) => BuiltinAnswer): BuiltinAnswer {
    const all = this.book.of(i.satellite);
    if (all.length === 0) return { response: 'none' };
    const name = nameOf(i);
    if (name) {
      const t = all.find((x) => x.name?.toLowerCase() === name.toLowerCase());
      return t ? act(t) : { response: 'no_such', vars: { name } };
    }
    if (all.length > 1) return { response: 'several', vars: { count: String(all.length), timers: listed(all.map((t) => this.called(t))) } };
    return act(all[0]);
  }

  /** "the pasta timer", "the 5 minute timer". */
  private called(t: Timer): string {
    return `the ${this.label(t)} timer`;
  }

  /** "pasta"; "5 minute", "2 minute 30 second" for a timer with no name. */
  private label(t: Timer): string {
    return t.name ?? duration(t.totalMs).replace(/s( |$)/g, '$1').replace(/ and /, ' ');
  }

  private vars(t: Timer): Record<string, string> {
    return { timer: this.called(t), left: duration(this.book.leftMs(t)), ...(t.name ? { name: t.name } : {}) };
  }

  /**
   * "Cancel the timer" said over a ringing one (its wake word already stopped the ringing) means that
   * timer, which is over: nothing else is cancelled. Otherwise the timer the intent names or the only one.
   */
  private cancelOrQuiet(i: IntentPayload): BuiltinAnswer {
    const rang = this.rang.get(i.satellite);
    if (rang && !nameOf(i) && this.clock() - rang.at < this.ctx.config.timers.ringLimitS * 1000 + RANG_MS) {
      this.rang.delete(i.satellite);
      return { response: 'stopped', vars: { timer: rang.timer } };
    }
    return this.withTimer(i, (t) => this.cancel(t));
  }

  private cancel(t: Timer): BuiltinAnswer {
    const vars = this.vars(t);
    this.book.remove(t);
    this.changed('cancelled', t);
    return { vars };
  }

  private cancelAll(i: IntentPayload): BuiltinAnswer {
    const all = this.book.of(i.satellite);
    if (all.length === 0) return { response: 'none' };
    for (const t of all) {
      this.book.remove(t);
      this.publish('cancelled', t);
    }
    this.publishList(i.satellite);
    this.tick();
    return { vars: { count: String(all.length) } };
  }

  private pause(t: Timer): BuiltinAnswer {
    if (t.endsAt === undefined) return { response: 'already', vars: this.vars(t) };
    this.book.pause(t);
    this.changed('updated', t);
    return { vars: this.vars(t) };
  }

  private resume(t: Timer): BuiltinAnswer {
    if (t.leftMs === undefined) return { response: 'already', vars: this.vars(t) };
    this.book.resume(t);
    this.changed('updated', t);
    return { vars: this.vars(t) };
  }

  private add(t: Timer, ms: number): BuiltinAnswer {
    this.book.add(t, ms);
    this.changed('updated', t);
    return { vars: { ...this.vars(t), duration: duration(Math.abs(ms)) } };
  }

  private status(i: IntentPayload): BuiltinAnswer {
    const all = this.book.of(i.satellite);
    if (all.length === 0) return { response: 'none' };
    const name = nameOf(i);
    const one = name ? all.find((x) => x.name?.toLowerCase() === name.toLowerCase()) : all.length === 1 ? all[0] : undefined;
    if (name && !one) return { response: 'no_such', vars: { name } };
    if (one) return { response: one.leftMs !== undefined ? 'paused' : 'default', vars: this.vars(one) };
    const each = all.map((t) => `${duration(this.book.leftMs(t))} on ${this.called(t)}${t.leftMs !== undefined ? ', paused' : ''}`);
    return { response: 'several', vars: { count: String(all.length), timers: listed(each) } };
  }
}

/** The timer's name as said (a wildcard slot), if any. */
function nameOf(i: IntentPayload): string | undefined {
  const v = i.slots.name?.value;
  return typeof v === 'string' && v.trim() ? v.trim() : undefined;
}
