// The hub's dashboard: the satellites, the live feed (/api/live), latency
// sparklines and errors. Plain browser JavaScript, served as is (no build
// step); talk.js makes the tab a satellite.
'use strict';

const $ = (sel) => document.querySelector(sel);
const satellites = new Map();
const partialRows = new Map(); // session id -> <li> showing its latest partial
const LAT = { wakeToAudio: 'wake → audio', speechToFinal: 'end of speech → final', finalToSpeech: 'final → first TTS' };
const latency = { wakeToAudio: [], speechToFinal: [], finalToSpeech: [] };

async function token() {
  const r = await fetch('api/token', { credentials: 'same-origin' });
  if (!r.ok) throw new Error(`token: HTTP ${r.status}`);
  return (await r.json()).token;
}

function wsUrl(path, t, extra = '') {
  const u = new URL(path, location.href);
  u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  u.search = `?token=${encodeURIComponent(t)}${extra}`;
  return u.toString();
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function clock(t) {
  const d = t ? new Date(t) : new Date();
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

// --- satellites -----------------------------------------------------------
function renderSatellites() {
  const body = $('#satellites tbody');
  body.textContent = '';
  const list = [...satellites.values()].sort((a, b) => a.id.localeCompare(b.id));
  for (const s of list) {
    const tr = el('tr');
    tr.dataset.satellite = s.id;
    const name = el('td');
    name.append(el('span', 'sat-id', s.id));
    if (s.kind === 'browser') name.append(el('span', 'kind', 'browser'));
    tr.append(name, el('td', '', s.room));
    const st = el('td');
    const state = s.online ? s.state : 'offline';
    st.append(el('span', `pill ${state === 'muted' ? 'muted-state' : state}`, state));
    tr.append(st, el('td', 'muted', ago(s.lastSeen)));
    body.append(tr);
  }
  if (!list.length) {
    const tr = el('tr');
    const td = el('td', 'muted', 'no satellite yet');
    td.colSpan = 4;
    tr.append(td);
    body.append(tr);
  }
}

// --- events ---------------------------------------------------------------
function addEvent(list, parts, limit = 60) {
  const li = el('li');
  li.append(el('time', '', clock(parts.time)));
  if (parts.who) li.append(el('span', 'who', parts.who));
  if (parts.tag) li.append(el('span', `tag ${parts.tagClass || ''}`, parts.tag));
  li.append(el('span', 'text', parts.text));
  list.prepend(li);
  while (list.children.length > limit) list.lastChild.remove();
  return li;
}

function onPartial(t) {
  let li = partialRows.get(t.sessionId);
  if (!li) {
    li = addEvent($('#events'), { who: t.satellite, tag: 'hearing', tagClass: 'partial-tag', text: t.text });
    partialRows.set(t.sessionId, li);
  } else li.querySelector('.text').textContent = t.text;
}

function onFinal(t) {
  partialRows.get(t.sessionId)?.remove();
  partialRows.delete(t.sessionId);
  addEvent($('#events'), { time: t.time, who: t.satellite, tag: 'heard', text: t.text || '(nothing)' }).classList.add('final-event');
}

function onIntent(i) {
  const slots = Object.entries(i.slots || {}).map(([k, v]) => `${k}=${typeof v === 'object' ? v.value : v}`).join(' ');
  addEvent($('#events'), { time: i.time, who: i.satellite, tag: 'intent', text: `${i.intent}${slots ? ` ${slots}` : ''}` });
}

function onReply(r) {
  addEvent($('#events'), { time: r.time, who: r.satellite, tag: 'reply', tagClass: 'reply-tag', text: r.text });
}

function onError(e) {
  addEvent($('#errors'), { time: e.time, who: e.satellite || 'hub', tag: e.code, tagClass: 'error-tag', text: e.message }, 20);
}

// --- latency sparklines ---------------------------------------------------
function spark(values) {
  const w = 120;
  const h = 32;
  if (values.length < 2) return `<svg viewBox="0 0 ${w} ${h}"></svg>`;
  const max = Math.max(...values, 1);
  const pts = values.map((v, i) => `${((i / (values.length - 1)) * w).toFixed(1)},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`).join(' ');
  return `<svg viewBox="0 0 ${w} ${h}" aria-hidden="true"><polyline fill="none" stroke="#2563eb" stroke-width="2" points="${pts}"/></svg>`;
}

function renderLatency() {
  const box = $('#latency');
  box.textContent = '';
  for (const [kind, label] of Object.entries(LAT)) {
    const vals = latency[kind].map((s) => s.ms);
    const sorted = [...vals].sort((a, b) => a - b);
    const med = sorted.length ? sorted[Math.floor(sorted.length / 2)] : undefined;
    const row = el('div', 'spark');
    row.dataset.kind = kind;
    const text = el('div');
    text.append(el('div', 'label', label), el('div', 'value', med === undefined ? '–' : `${vals.at(-1)} ms (median ${med} ms, ${vals.length})`));
    const pic = el('div');
    pic.innerHTML = spark(vals.slice(-30));
    row.append(text, pic);
    box.append(row);
  }
}

// --- the live feed --------------------------------------------------------
let liveRetry = 1000;
async function connectLive() {
  let ws;
  try {
    ws = new WebSocket(wsUrl('api/live', await token()));
  } catch (err) {
    $('#conn').textContent = `offline: ${err.message}`;
    return void setTimeout(connectLive, liveRetry);
  }
  ws.onopen = () => {
    liveRetry = 1000;
    $('#conn').textContent = 'live';
    $('#conn').className = 'pill on';
  };
  ws.onclose = () => {
    $('#conn').textContent = 'reconnecting';
    $('#conn').className = 'pill off';
    liveRetry = Math.min(liveRetry * 2, 15000);
    setTimeout(connectLive, liveRetry);
  };
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === 'snapshot') {
      $('#hub-name').textContent = `voice-hub · ${m.name}`;
      satellites.clear();
      for (const s of m.satellites) satellites.set(s.id, s);
      for (const k of Object.keys(latency)) latency[k] = m.latency[k] || [];
      $('#events').textContent = '';
      $('#errors').textContent = '';
      for (const e of m.events) handle(e);
      for (const e of m.errors) handle(e);
      renderSatellites();
      renderLatency();
    } else handle(m);
  };
}

function handle(m) {
  if (m.type === 'satellite') {
    if (m.satellite.removed) satellites.delete(m.satellite.id);
    else satellites.set(m.satellite.id, m.satellite);
    renderSatellites();
  } else if (m.type === 'partial') onPartial(m.transcript);
  else if (m.type === 'final') onFinal(m.transcript);
  else if (m.type === 'intent') onIntent(m.intent);
  else if (m.type === 'reply') onReply(m.reply);
  else if (m.type === 'error') onError(m.error);
  else if (m.type === 'latency') {
    latency[m.kind].push({ ms: m.ms, at: m.at });
    if (latency[m.kind].length > 60) latency[m.kind].shift();
    renderLatency();
  }
}

setInterval(renderSatellites, 5000);
renderSatellites();
renderLatency();
void connectLive();
