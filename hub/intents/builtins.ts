/**
 * Intents the hub answers itself, with no LLM: a handler gives the name of
 * the response template to say (responses.<name> in the intent files;
 * `default` when it names none) and the variables that template may use.
 * The clock's intents are here; a feature that answers intents of its own
 * (hub/timers) registers its handlers with the Intents feature
 * (Intents.answer).
 */
import type { IntentPayload } from '../../common/intent';

export interface BuiltinAnswer {
  /** The response template's name; absent: `default`. */
  response?: string;
  vars?: Record<string, string>;
}

/** What a handler may need of the hub's settings. */
export interface BuiltinEnv {
  /** hub.timeZone; undefined: the system's. */
  timeZone?: string;
}

export type BuiltinHandler = (intent: IntentPayload, env: BuiltinEnv) => BuiltinAnswer;

const clock = (vars: Record<string, string>): BuiltinAnswer => ({ vars });

export const BUILTINS: Readonly<Record<string, BuiltinHandler>> = {
  /** {time}: "3:05 PM", in hub.timeZone. */
  HassGetCurrentTime: (_, { timeZone }) => clock({ time: new Date().toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit', timeZone }) }),
  /** {date}: "Tuesday, December 1". */
  HassGetCurrentDate: (_, { timeZone }) => clock({ date: new Date().toLocaleDateString('en-US', { weekday: 'long', month: 'long', day: 'numeric', timeZone }) }),
  /** Says nothing (an empty response): the new session already stopped what the satellite was saying. */
  HassNevermind: () => ({}),
};

/** Fills {name} placeholders; an unknown one is left out; the sentence starts with a capital ("{timer} is paused"). */
export function render(template: string, vars: Record<string, string>): string {
  return template
    .replace(/\{(\w+)\}/g, (_, k: string) => vars[k] ?? '')
    .replace(/\s+([.,!?])/g, '$1')
    .replace(/\s{2,}/g, ' ')
    .trim()
    .replace(/^[a-z]/, (c) => c.toUpperCase());
}
