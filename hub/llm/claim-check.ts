/**
 * Unbacked claims (docs/intents.md, "The LLM's tools"): the LLM acts only
 * through tools, so a sentence of its reply that says an action was done is
 * trusted only when a tool call of the same reply was done (an automation
 * claimed it, or a built-in answered it). Otherwise the sentence is not
 * spoken: the honest unhandled sentence is, and the reply says it was
 * replaced. The patterns are few and aimed at what a model says when it
 * pretends: "I've turned off...", "the light is now off", "Done.", "timer set".
 */

/** What counts as claiming an action; documented in docs/intents.md. Matched on the sentence, lower-cased. */
export const CLAIM_PATTERNS: readonly RegExp[] = [
  /\bi(?:'ve| have)? (?:turned|switched|set|started|locked|unlocked|opened|closed|dimmed|cancell?ed|stopped|paused|added)\b/,
  /\b(?:turned|switched) (?:on|off)\b/,
  /\b(?:is|are) now (?:on|off|locked|unlocked|open|opened|closed|set)\b/,
  /\b(?:is|are) (?:off|locked|unlocked)\b/,
  /\b(?:has|have) been (?:turned|switched|set|started|locked|unlocked|opened|closed|dimmed|cancell?ed)\b/,
  /\bset (?:a|the|your) timer\b/,
  /\btimer (?:is )?(?:set|started)\b/,
  /^(?:ok(?:ay)?[,.!]? )?done\b/,
];

/** Whether a sentence claims an action was done. */
export function claimsAction(sentence: string): boolean {
  const s = sentence.toLowerCase().replace(/[\u2018\u2019]/g, "'").trim();
  return CLAIM_PATTERNS.some((p) => p.test(s));
}

/**
 * Checks a reply's sentences as they come: once a tool call of the reply was done, every sentence is trusted;
 * before that, the first that claims an action is refused, and so is everything after it.
 */
export class ClaimCheck {
  private backed = false;
  /** The LLM's text from the first refused sentence on; undefined while nothing was refused. */
  refused: string | undefined;

  /** A tool call of this reply was done. */
  done(): void {
    this.backed = true;
  }

  /** True: say the sentence. False: it (and all that follows) is replaced. */
  pass(sentence: string): boolean {
    if (this.refused !== undefined) {
      this.refused += ` ${sentence}`;
      return false;
    }
    if (this.backed || !claimsAction(sentence)) return true;
    this.refused = sentence;
    return false;
  }
}
