// This tab as a satellite (/api/talk): the microphone to the hub, the reply
// played in the page. Loaded after dashboard.js (its $, token, wsUrl).
/* global $, token, wsUrl */
'use strict';

// pending: frames captured before the hub named the session (none of the first words is lost).
const talk = { ws: null, ctx: null, node: null, stream: null, sessionId: null, playing: null, capturing: false, pending: [] };

function talkState(text) {
  $('#talk-state').textContent = text;
}

async function connectTalk() {
  let ws;
  try {
    ws = new WebSocket(wsUrl('api/talk', await token()));
  } catch (err) {
    talkState(`cannot reach the hub (${err.message}); retrying`);
    return void setTimeout(connectTalk, 3000);
  }
  ws.binaryType = 'arraybuffer';
  talk.ws = ws;
  let audioFor = null;
  ws.onclose = () => {
    $('#talk').disabled = true;
    talkState('disconnected; retrying');
    stopCapture();
    setTimeout(connectTalk, 3000);
  };
  ws.onmessage = (ev) => {
    if (ev.data instanceof ArrayBuffer) return void playReply(audioFor, ev.data);
    const m = JSON.parse(ev.data);
    if (m.type === 'ready') {
      $('#talk').disabled = false;
      $('#talk-card').dataset.satellite = m.satellite;
      talkState(`ready as ${m.satellite}`);
    } else if (m.type === 'session') {
      talk.sessionId = m.sessionId;
      for (const f of talk.pending.splice(0)) ws.send(f);
      talkState('listening…');
    } else if (m.type === 'partial') $('#talk-partial').textContent = m.text;
    else if (m.type === 'final') {
      $('#talk-partial').textContent = '';
      $('#talk-final').textContent = m.text || '(nothing heard)';
    } else if (m.type === 'end') {
      stopCapture();
      talkState('thinking…');
    } else if (m.type === 'reply') $('#talk-reply').textContent = m.text;
    else if (m.type === 'audio') audioFor = m.sessionId;
    else if (m.type === 'stop') stopReply('stopped');
    else if (m.type === 'error') talkState(`${m.code}: ${m.message}`);
  };
}

/** The audio graph's context and worklet, made once (the first click), so later sessions start at once. */
async function audioContext() {
  if (!talk.ctx || talk.ctx.state === 'closed') {
    talk.ctx = new AudioContext();
    await talk.ctx.audioWorklet.addModule('mic-worklet.js');
  }
  if (talk.ctx.state === 'suspended') await talk.ctx.resume();
  return talk.ctx;
}

async function startCapture() {
  $('#talk-partial').textContent = '';
  $('#talk-final').textContent = '';
  $('#talk-reply').textContent = '';
  stopReply('stopped');
  // The session opens while the microphone starts; what it hears meanwhile is held, then sent.
  talk.capturing = true;
  talk.pending = [];
  talk.ws.send(JSON.stringify({ type: 'start' }));
  $('#talk').textContent = 'Stop';
  $('#talk').classList.add('live');
  const ctx = await audioContext();
  talk.stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
  if (!talk.capturing) return stopCapture(); // stopped meanwhile
  const src = ctx.createMediaStreamSource(talk.stream);
  talk.node = new AudioWorkletNode(ctx, 'mic-to-16k');
  talk.node.port.onmessage = (ev) => {
    if (!talk.capturing || talk.ws?.readyState !== WebSocket.OPEN) return;
    if (talk.sessionId) talk.ws.send(ev.data);
    else talk.pending.push(ev.data);
  };
  src.connect(talk.node);
}

function stopCapture() {
  talk.capturing = false;
  talk.pending = [];
  talk.sessionId = null;
  talk.node?.disconnect();
  talk.stream?.getTracks().forEach((t) => t.stop());
  talk.node = talk.stream = null;
  $('#talk').textContent = 'Talk';
  $('#talk').classList.remove('live');
}

function playReply(sessionId, wav) {
  const audio = $('#reply-audio');
  if (audio.src) URL.revokeObjectURL(audio.src);
  audio.src = URL.createObjectURL(new Blob([wav], { type: 'audio/wav' }));
  audio.dataset.session = sessionId;
  audio.dataset.played = 'false';
  talk.playing = sessionId;
  const started = Date.now();
  audio.onended = () => {
    audio.dataset.played = 'true';
    talkState('ready');
    if (talk.playing === sessionId) talk.ws?.send(JSON.stringify({ type: 'played', sessionId, reason: 'done', playedMs: Date.now() - started }));
    talk.playing = null;
  };
  talkState('speaking…');
  audio.play().catch((err) => talkState(`cannot play the reply: ${err.message}`));
}

function stopReply(reason) {
  const audio = $('#reply-audio');
  if (!talk.playing) return;
  audio.pause();
  talk.ws?.send(JSON.stringify({ type: 'played', sessionId: talk.playing, reason, playedMs: Math.round(audio.currentTime * 1000) }));
  talk.playing = null;
}

$('#talk').addEventListener('click', () => {
  if (talk.capturing) {
    talk.ws?.send(JSON.stringify({ type: 'stop' }));
    stopCapture();
  } else {
    startCapture().catch((err) => {
      // No microphone (refused, none, an insecure page): the session the hub opened is ended.
      talk.ws?.send(JSON.stringify({ type: 'stop' }));
      stopCapture();
      talkState(`microphone: ${err.message}`);
    });
  }
});

void connectTalk();

