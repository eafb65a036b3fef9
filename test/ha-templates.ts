/**
 * Home Assistant's side of MQTT discovery, for test/homeassistant.test.ts:
 * the options Home Assistant documents for each platform the discovery uses,
 * and its Jinja templates rendered as Home Assistant renders them, for the
 * forms hub/homeassistant/discovery.ts writes (anything else fails loudly:
 * extend this with the template).
 */
type Obj = Record<string, unknown>;

/** The options Home Assistant documents per MQTT platform (full names; device discovery's `p` and `unique_id` are checked apart). */
export const COMMON = ['p', 'unique_id', 'name', 'icon', 'entity_category', 'availability', 'availability_mode', 'qos', 'enabled_by_default'];
export const JSON_ATTR = ['json_attributes_topic', 'json_attributes_template'];
export const PLATFORMS: Record<string, { required: string[]; optional: string[] }> = {
  sensor: { required: ['state_topic'], optional: ['value_template', 'device_class', 'options', 'state_class', 'unit_of_measurement', ...JSON_ATTR] },
  event: { required: ['state_topic', 'event_types'], optional: ['value_template', 'device_class', ...JSON_ATTR] },
  switch: { required: ['command_topic'], optional: ['state_topic', 'value_template', 'state_on', 'state_off', 'payload_on', 'payload_off', 'optimistic', 'device_class', ...JSON_ATTR] },
  number: { required: ['command_topic'], optional: ['state_topic', 'value_template', 'command_template', 'min', 'max', 'step', 'mode', 'unit_of_measurement', 'device_class', ...JSON_ATTR] },
  notify: { required: ['command_topic'], optional: ['command_template', ...JSON_ATTR] },
  button: { required: ['command_topic'], optional: ['payload_press', 'command_template', 'device_class', ...JSON_ATTR] },
};
export const DEVICE_KEYS = ['identifiers', 'connections', 'name', 'manufacturer', 'model', 'model_id', 'sw_version', 'hw_version', 'suggested_area', 'via_device', 'configuration_url', 'serial_number'];
export const ROOT_KEYS = ['dev', 'o', 'cmps', 'availability', 'availability_mode', 'availability_topic', 'qos', 'state_topic', 'command_topic', 'encoding', '~'];

function lookup(path: string, vars: Obj): unknown {
  let v: unknown = vars;
  for (const k of path.split('.')) {
    if (typeof v !== 'object' || v === null || !(k in v)) throw new Error(`template reads ${path}, which the message lacks`);
    v = (v as Obj)[k];
  }
  return v;
}

/** Jinja's Undefined (`first` of an empty list), which `default` replaces. */
const UNDEFINED = Symbol('undefined');

/**
 * One Jinja expression of the forms discovery.ts uses: a conditional, or a
 * head (a path, a one-key dict, a slice) piped through filters. Anything else
 * fails loudly (extend this with the template).
 */
function evalExpr(expr: string, vars: Obj): unknown {
  let m: RegExpMatchArray | null;
  const e = expr.trim();
  if ((m = e.match(/^'([^']*)' if ([\w.]+) else '([^']*)'$/))) return lookup(m[2], vars) ? m[1] : m[3];
  const [head, ...filters] = e.split(' | ');
  let v: unknown;
  if ((m = head.match(/^\{'(\w+)': ([\w.]+)\}$/))) v = { [m[1]]: lookup(m[2], vars) };
  else if ((m = head.match(/^([\w.]+)\[:(\d+)\]$/))) v = String(lookup(m[1], vars)).slice(0, Number(m[2]));
  else if (/^[\w.]+$/.test(head)) v = lookup(head, vars);
  else throw new Error(`template form not known to this test: ${expr}`);
  for (const f of filters) v = filter(f, v, expr);
  return v;
}

/** Jinja's filters, as far as the templates use them (lists of objects: a timers payload's). */
function filter(f: string, v: unknown, expr: string): unknown {
  let m: RegExpMatchArray | null;
  const list = () => v as Obj[];
  if (f === 'tojson') return JSON.stringify(v);
  if (f === 'length') return list().length;
  if (f === 'int') return Math.trunc(Number(v));
  if ((m = f.match(/^round\((\d)\)$/))) return Math.round(Number(v) * 10 ** Number(m[1])) / 10 ** Number(m[1]);
  if (f === 'sort') return [...(v as string[])].sort();
  if (f === 'first') return list().length > 0 ? list()[0] : UNDEFINED;
  if (f === 'default(None)') return v === UNDEFINED ? null : v;
  const key = (re: RegExp) => f.match(re)?.[1];
  let k: string | undefined;
  if ((k = key(/^rejectattr\('(\w+)'\)$/))) return list().filter((x) => !x[k as string]);
  if ((k = key(/^selectattr\('(\w+)', 'defined'\)$/))) return list().filter((x) => x[k as string] !== undefined);
  if ((k = key(/^map\(attribute='(\w+)'\)$/))) return list().map((x) => x[k as string]);
  throw new Error(`filter ${f} not known to this test (in ${expr})`);
}

/** Renders as Jinja prints: None for None, nothing for Undefined. */
export function render(template: string, vars: Obj): string {
  return template.replace(/\{\{ (.*?) \}\}/g, (_, expr: string) => {
    const v = evalExpr(expr, vars);
    return typeof v === 'string' ? v : v === null ? 'None' : v === UNDEFINED ? '' : JSON.stringify(v);
  });
}

/** A value template applied to a message, as Home Assistant does (no template: the payload). */
export const valueOf = (template: unknown, payload: Buffer): string => (typeof template === 'string' ? render(template, { value_json: JSON.parse(payload.toString()) as Obj, value: payload.toString() }) : payload.toString());
