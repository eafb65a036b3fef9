/**
 * The settings the hub keeps for each satellite across its restarts
 * (setting.ts; docs/protocol.md, "Kept settings"): the playback volume
 * (hub.stateDir/volumes.json; the `volume` command) and the wake threshold
 * (hub.stateDir/wake-thresholds.json; the `threshold` command). Always on:
 * whoever set a value (an intent, Home Assistant, an automation), a
 * restarted satellite gets it back.
 */
import { parseJson } from '../../common/protocol';
import type { Feature, HubContext, TopicHandlers } from '../feature';
import { KeptSetting } from './setting';

export class KeptSettings implements Feature {
  readonly name = 'kept';
  readonly subscriptions: string[];
  readonly handlers: TopicHandlers;
  readonly volume: KeptSetting;
  readonly wakeThreshold: KeptSetting;

  constructor(ctx: HubContext) {
    this.volume = new KeptSetting(ctx, { label: 'volume', file: 'volumes.json', field: 'volume', command: (volume) => ({ command: 'volume', volume }) });
    this.wakeThreshold = new KeptSetting(ctx, { label: 'wake threshold', file: 'wake-thresholds.json', field: 'wakeThreshold', command: (threshold) => ({ command: 'threshold', threshold }) });
    this.subscriptions = [ctx.topics.sub.allSatStatus];
    this.handlers = {
      satStatus: (t, payload, topic) => {
        if (payload.length === 0) return;
        let o: Record<string, unknown>;
        try {
          o = parseJson(topic, payload);
        } catch {
          return; // the registry reports a bad status (one error per message)
        }
        for (const s of this.all) s.status(t.satellite, o);
      },
    };
  }

  private get all(): KeptSetting[] {
    return [this.volume, this.wakeThreshold];
  }

  start(): void {
    for (const s of this.all) s.load();
  }
}
