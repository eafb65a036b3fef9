/**
 * Conversation memory per satellite: the last llm.historyTurns question and
 * answer pairs, forgotten after llm.historyIdleMs without a turn.
 */
import type { ChatMessage } from '../llm/ollama';

export class ConversationMemory {
  private readonly memory = new Map<string, { turns: ChatMessage[]; lastAt: number }>();

  constructor(private readonly opts: { turns: number; idleMs: number }) {}

  history(satellite: string): ChatMessage[] {
    const m = this.memory.get(satellite);
    if (!m) return [];
    if (Date.now() - m.lastAt > this.opts.idleMs) {
      this.memory.delete(satellite);
      return [];
    }
    return m.turns;
  }

  remember(satellite: string, user: string, assistant: string): void {
    const max = this.opts.turns * 2;
    if (max === 0) return;
    const turns = [...this.history(satellite), { role: 'user', content: user }, { role: 'assistant', content: assistant }];
    this.memory.set(satellite, { turns: turns.slice(-max), lastAt: Date.now() });
  }
}
