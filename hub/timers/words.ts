/** How the timers' answers say a length of time: "1 hour and 5 minutes", "2 minutes and 30 seconds", "45 seconds". */

const unit = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** Whole seconds (rounded up: "1 second" is left until it is over), at most two units, the larger first. */
export function duration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const parts: string[] = [];
  if (h) parts.push(unit(h, 'hour'));
  if (m) parts.push(unit(m, 'minute'));
  // Seconds matter under an hour; with hours they are noise.
  if (s && !h) parts.push(unit(s, 'second'));
  if (parts.length === 0) return unit(0, 'second');
  return parts.slice(0, 2).join(' and ');
}

/** The slots of a timer intent as ms: hours, minutes and seconds said, summed. */
export function slotsMs(slots: Record<string, { value: unknown }>): number {
  const n = (k: string) => (typeof slots[k]?.value === 'number' ? (slots[k].value) : 0);
  return ((n('hours') * 60 + n('minutes')) * 60 + n('seconds')) * 1000;
}

/** "pasta and eggs"; "pasta, eggs and rice". */
export function listed(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
