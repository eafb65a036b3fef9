/**
 * Home Assistant MQTT discovery payloads (docs/homeassistant.md): one
 * device-based discovery message per device, `<prefix>/device/<id>/config`
 * with `cmps` (Home Assistant 2024.11+), retained. Full key names, no
 * abbreviations. Every command entity publishes on a topic of
 * docs/protocol.md (the satellite's command or announce topic) a payload
 * that topic already accepts, so Home Assistant's commands go through the
 * same validation, and get the same coded errors, as anyone's.
 */
import type { Topics } from '../../common/protocol';
import { VERSION } from '../../common/version';
import { SATELLITE_STATES, type SatelliteInfo } from '../bus';

export const ORIGIN = { name: 'voice-hub', sw_version: VERSION };

/** The event types of a satellite's event entity (its .../event topic). */
export const EVENT_TYPES = ['wake', 'transcript', 'intent'] as const;

/**
 * The next_timer sensor's state from the satellite's timers payload: the
 * soonest `endsAt` of its running timers (a paused timer has none, nor one
 * that ended and waits to ring; ISO times of one form sort as strings), or
 * None, which Home Assistant shows as unknown, when none runs.
 */
export const NEXT_TIMER_TEMPLATE = "{{ value_json.timers | rejectattr('paused') | selectattr('endsAt', 'defined') | map(attribute='endsAt') | sort | first | default(None) }}";

/** The wake_threshold number's range, within the threshold command's (0-1, exclusive). */
export const WAKE_THRESHOLD_RANGE = { min: 0.05, max: 0.95, step: 0.05 } as const;

export type Component = Record<string, unknown> & { platform: string; unique_id: string };

export interface DevicePayload {
  device: Record<string, unknown>;
  origin: typeof ORIGIN;
  availability: { topic: string; value_template: string; payload_available: string; payload_not_available: string }[];
  availability_mode?: 'all';
  qos: 1;
  components: Record<string, Component>;
}

/** An id safe for discovery topics and unique ids ([a-zA-Z0-9_-]): the topic root with its slashes as underscores. */
export function nodeId(root: string): string {
  return root.replace(/[^A-Za-z0-9_-]/g, '_');
}

export function hubDeviceId(root: string): string {
  return `${nodeId(root)}_hub`;
}

export function satelliteDeviceId(root: string, satellite: string): string {
  return `${nodeId(root)}_satellite_${satellite}`;
}

export function discoveryTopic(prefix: string, deviceId: string): string {
  return `${prefix}/device/${deviceId}/config`;
}

const statusAvailability = (topic: string) => ({ topic, value_template: '{{ value_json.state }}', payload_available: 'online', payload_not_available: 'offline' });

/**
 * The payload as Home Assistant expects it. Device discovery's keys are
 * `dev`, `o`, `cmps` and each component's `p` (their abbreviations are the
 * documented forms of the device-level keys; full names are accepted too
 * for everything else).
 */
export function wire(p: DevicePayload): Record<string, unknown> {
  const cmps = Object.fromEntries(Object.entries(p.components).map(([id, { platform, ...rest }]) => [id, { p: platform, ...rest }]));
  return { dev: p.device, o: p.origin, availability: p.availability, ...(p.availability_mode ? { availability_mode: p.availability_mode } : {}), qos: p.qos, cmps };
}

export function hubDevice(t: Topics, root: string, name: string): DevicePayload {
  const id = hubDeviceId(root);
  const status = t.hubStatus();
  const sensor = (key: string, label: string, template: string, extra: Record<string, unknown> = { entity_category: 'diagnostic' }): [string, Component] => [
    key,
    { platform: 'sensor', unique_id: `${id}_${key}`, name: label, state_topic: status, value_template: template, ...extra },
  ];
  return {
    device: { identifiers: [id], name: `Voice hub ${name}`, manufacturer: 'voice-hub', model: 'Voice hub', sw_version: VERSION },
    origin: ORIGIN,
    availability: [statusAvailability(status)],
    qos: 1,
    components: Object.fromEntries([
      sensor('stt', 'Speech-to-text engine', '{{ value_json.stt.engine }}', { entity_category: 'diagnostic', json_attributes_topic: status, json_attributes_template: '{{ value_json.stt | tojson }}' }),
      sensor('tts', 'Text-to-speech engine', '{{ value_json.tts.engine }}', { entity_category: 'diagnostic', json_attributes_topic: status, json_attributes_template: '{{ value_json.tts | tojson }}' }),
      sensor('llm', 'LLM model', '{{ value_json.llm.model }}', { entity_category: 'diagnostic', json_attributes_topic: status, json_attributes_template: '{{ value_json.llm | tojson }}' }),
      sensor('live_sessions', 'Live sessions', '{{ value_json.stt.live }}', { state_class: 'measurement' }),
      [
        'last_error',
        { platform: 'sensor', unique_id: `${id}_last_error`, name: 'Last error', state_topic: t.hubError(), value_template: '{{ value_json.code }}', json_attributes_topic: t.hubError(), entity_category: 'diagnostic' },
      ],
    ]),
  };
}

export function satelliteDevice(t: Topics, root: string, s: SatelliteInfo): DevicePayload {
  const id = satelliteDeviceId(root, s.id);
  const status = t.satStatus(s.id);
  const command = t.command(s.id);
  const c = (key: string, platform: string, name: string, rest: Record<string, unknown>): [string, Component] => [key, { platform, unique_id: `${id}_${key}`, name, ...rest }];
  const button = (key: string, name: string, cmd: string, icon: string) => c(key, 'button', name, { command_topic: command, payload_press: JSON.stringify({ command: cmd }), icon });
  return {
    device: {
      identifiers: [id],
      name: `Voice satellite ${s.id}`,
      manufacturer: 'voice-hub',
      model: 'Voice satellite',
      ...(s.version ? { sw_version: s.version } : {}),
      suggested_area: s.room,
      via_device: hubDeviceId(root),
    },
    origin: ORIGIN,
    // Both retained statuses, each with its last will: the hub's (it computes the state) and the satellite's.
    availability: [statusAvailability(t.hubStatus()), statusAvailability(status)],
    availability_mode: 'all',
    qos: 1,
    components: Object.fromEntries([
      c('state', 'sensor', 'State', { state_topic: t.state(s.id), value_template: '{{ value_json.state }}', device_class: 'enum', options: [...SATELLITE_STATES], icon: 'mdi:microphone-message' }),
      c('transcript', 'sensor', 'Last transcript', { state_topic: t.transcript(s.id), value_template: '{{ value_json.text[:255] }}', json_attributes_topic: t.transcript(s.id), icon: 'mdi:text-recognition' }),
      c('event', 'event', 'Voice event', { state_topic: t.event(s.id), event_types: [...EVENT_TYPES], icon: 'mdi:account-voice' }),
      c('mute', 'switch', 'Mute', {
        state_topic: status,
        value_template: "{{ 'ON' if value_json.muted else 'OFF' }}",
        state_on: 'ON',
        state_off: 'OFF',
        command_topic: command,
        payload_on: JSON.stringify({ command: 'mute' }),
        payload_off: JSON.stringify({ command: 'unmute' }),
        icon: 'mdi:microphone-off',
      }),
      c('volume', 'number', 'Volume', {
        state_topic: status,
        value_template: '{{ value_json.volume }}',
        command_topic: command,
        command_template: '{"command": "volume", "volume": {{ value | int }}}',
        min: 0,
        max: 100,
        step: 1,
        mode: 'slider',
        unit_of_measurement: '%',
        icon: 'mdi:volume-high',
      }),
      c('announce', 'notify', 'Announce', { command_topic: t.announce(s.id), command_template: "{{ {'text': value} | tojson }}", icon: 'mdi:bullhorn' }),
      button('listen', 'Listen', 'listen', 'mdi:microphone'),
      button('stop', 'Stop', 'stop', 'mdi:stop'),
      // Only for a satellite whose status reports it: one whose wake engine can change it (not Porcupine, not an older satellite).
      ...(s.wakeThreshold !== undefined
        ? [
            c('wake_threshold', 'number', 'Wake threshold', {
              state_topic: status,
              value_template: '{{ value_json.wakeThreshold }}',
              command_topic: command,
              command_template: '{"command": "threshold", "threshold": {{ value | round(2) }}}',
              ...WAKE_THRESHOLD_RANGE,
              mode: 'slider',
              entity_category: 'config',
              icon: 'mdi:ear-hearing',
            }),
          ]
        : []),
      c('next_timer', 'sensor', 'Next timer', { state_topic: t.timers(s.id), value_template: NEXT_TIMER_TEMPLATE, device_class: 'timestamp', icon: 'mdi:timer-sand' }),
      c('timers', 'sensor', 'Timers', {
        state_topic: t.timers(s.id),
        value_template: '{{ value_json.timers | length }}',
        json_attributes_topic: t.timers(s.id),
        json_attributes_template: "{{ {'timers': value_json.timers} | tojson }}",
        state_class: 'measurement',
        icon: 'mdi:timer-outline',
      }),
    ]),
  };
}
