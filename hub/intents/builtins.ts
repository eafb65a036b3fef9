/**
 * Intents the hub answers itself, with no LLM and nothing outside: each
 * handler gives the variables its response template (responses.default in
 * the intent files) may use. A new built-in is one more entry here; issue 12
 * adds timers and volume.
 */
import type { IntentPayload } from '../../common/intent';

export type BuiltinHandler = (intent: IntentPayload) => Record<string, string>;

export const BUILTINS: Readonly<Record<string, BuiltinHandler>> = {
  /** {time}: "3:05 PM", in the hub's time zone (TZ). */
  HassGetCurrentTime: () => ({ time: new Date().toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit' }) }),
  /** {date}: "Tuesday, December 1". */
  HassGetCurrentDate: () => ({ date: new Date().toLocaleDateString('en-US', { weekday: 'long', month: 'long', day: 'numeric' }) }),
  /** Says nothing (an empty response): the new session already stopped what the satellite was saying. */
  HassNevermind: () => ({}),
};

/** Fills {name} placeholders; an unknown one is left out. */
export function render(template: string, vars: Record<string, string>): string {
  return template
    .replace(/\{(\w+)\}/g, (_, k: string) => vars[k] ?? '')
    .replace(/\s+([.,!?])/g, '$1')
    .replace(/\s{2,}/g, ' ')
    .trim();
}
