/** Payloads of the intent topics (docs/protocol.md): what the hub understood of a final transcript. */

export type IntentSlotValue = string | number | boolean;

export interface IntentSlot {
  name: string;
  /** The list's value ("light.kitchen"), a number for ranges (50), the words for a wildcard. */
  value: IntentSlotValue;
  /** The words said for it; '' for a sentence's fixed slots and an area from the satellite's room. */
  text: string;
  /** Where the slot came from: the words said (absent), the sentence template, or the satellite's room. */
  source?: 'sentence' | 'room';
}

/** voice/satellite/<id>/intent (QoS 1, not retained). */
export interface IntentPayload {
  sessionId: string;
  satellite: string;
  room: string;
  /** The intent's name (Home Assistant's names for the built-in ones: HassTurnOff, HassStartTimer...). */
  intent: string;
  /** By slot name. */
  slots: Record<string, IntentSlot>;
  /** 1 for an exact match; lower for a fuzzy one (misheard, missing or extra words). */
  confidence: number;
  exact: boolean;
  /** The final transcript matched; for source llm, the transcript the LLM was answering. */
  text: string;
  /** speech: matched from what was said; llm: a tool the LLM called while answering the transcript (docs/intents.md, "The LLM's tools"). */
  source: 'speech' | 'llm';
  time: string;
  /** matchMs: time the hub spent matching. */
  timings: { matchMs: number };
}

/** voice/satellite/<id>/intent/none (QoS 1): a final transcript that matched no intent. */
export interface IntentNonePayload {
  sessionId: string;
  satellite: string;
  room: string;
  text: string;
  source: 'speech';
  time: string;
}
