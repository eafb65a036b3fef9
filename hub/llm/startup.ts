/**
 * At start, with replies on (llm.checkAtStart): is Ollama reachable, and
 * does it have llm.model? A clear coded error on the hub's error topic if
 * not, rather than at the first question; then, if asked (llm.preload),
 * the model is loaded so the first question does not wait for it.
 */
import type { Logger } from '../../common/log';
import type { ErrorReporter } from '../../common/report';
import type { HubConfig } from '../../config/hub';
import type { OllamaApi } from './ollama-api';

export async function checkLlmAtStart(api: OllamaApi, c: HubConfig['llm'], errors: ErrorReporter, log: Logger): Promise<void> {
  const r = await api.check();
  if (!r.ok) return errors.report(r.code, `${r.message}: ${r.fix}`);
  log.info({ host: c.host, model: c.model }, 'Ollama has the model');
  if (!c.preload) return;
  const started = Date.now();
  try {
    await api.preload();
    log.info({ model: c.model, ms: Date.now() - started, keepAlive: c.keepAlive }, 'LLM model loaded');
  } catch (err) {
    log.warn({ model: c.model, err: (err as Error).message }, 'could not preload the LLM model; the first question will load it');
  }
}
