/** The hub's config schema: the single source of every default, doc and env name. */
import * as os from 'node:os';
import { LOG_LEVELS, mqttUrl, nonNegativeInt, positiveInt, topicRoot, withEnvAndArgs } from '../common/config';

const PS_MODEL = '/usr/share/pocketsphinx/model/en-us';

/** A window the held audio fits in (a satellite's pre-roll plus the window stay within what is held per session). */
function windowMs(v: unknown): void {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 3000) throw new Error('must be an integer from 1 to 3000 (ms)');
}

export const hubSchema = withEnvAndArgs('VOICE_HUB', {
  mqtt: {
    url: { doc: 'External broker URL (e.g. mqtt://broker.lan:1883). Empty: start the embedded aedes broker (broker.*) and connect to it.', format: mqttUrl, default: '' },
    username: { doc: 'Username for the external broker.', format: String, default: '' },
    password: { doc: 'Password for the external broker.', format: String, default: '', sensitive: true },
    ca: { doc: 'External broker over mqtts://: a PEM file of the CA(s) its certificate must chain to, trusted instead of the system CAs (pinning). Empty: the system CAs. The certificate must also name the URL\'s host.', format: String, default: '' },
    topicRoot: { doc: 'First level of every topic (see docs/protocol.md).', format: topicRoot, default: 'voice' },
    clientId: { doc: 'MQTT client id of the hub.', format: String, default: 'voice-hub' },
  },
  broker: {
    host: { doc: 'Address the embedded broker listens on (used when mqtt.url is empty).', format: String, default: '0.0.0.0' },
    port: { doc: 'TCP port of the embedded broker; 0 picks a free port (tests).', format: 'port', default: 1883 },
    maxPacketBytes: { doc: 'Largest MQTT packet a client may send to the embedded broker, in bytes (header included). A larger one closes that connection with VOICE_MQTT_PACKET_TOO_LARGE before its body is read, so no client, authenticated or not, can make the hub buffer MQTT\'s 256 MB maximum. Voice messages are far smaller (an audio frame is 3200 bytes); raise it if you publish images through this broker. 0: no cap.', format: nonNegativeInt('nonNegativeInt'), default: 1048576 },
    allowAnonymous: {
      doc: 'Let clients without credentials into the embedded broker, with every right (the behaviour before identities): anyone who reaches the port can open a microphone and read audio. Off: every client needs an identity (`voice-hub satellite add`, `voice-hub automation add`; docs/security.md). The hub warns at start while it is on.',
      format: Boolean,
      default: false,
    },
    plain: {
      doc: "The embedded broker's plain-TCP listener (broker.host:broker.port). on: as configured; loopback: only on 127.0.0.1, so only this machine (the hub itself, a local Node-RED) can use it while satellites come over TLS; off: none, and the hub connects to its own broker over TLS, verifying it with broker.tls.ca.",
      format: ['on', 'loopback', 'off'],
      default: 'on',
    },
    tls: {
      enabled: {
        doc: 'mqtts on the embedded broker (broker.tls.host:broker.tls.port). auto: on when the certificate file exists (`voice-hub tls init` writes it); on: the hub stops with VOICE_TLS_INVALID without a valid certificate and key; off: never.',
        format: ['auto', 'on', 'off'],
        default: 'auto',
      },
      host: { doc: 'Address the mqtts listener binds; empty: broker.host.', format: String, default: '' },
      port: { doc: 'TCP port of the mqtts listener; 0 picks a free port (tests).', format: 'port', default: 8883 },
      cert: { doc: "PEM certificate of the mqtts listener (with any intermediate CAs after it). Empty: tls/server.crt in hub.stateDir, made by `voice-hub tls init` for this machine's names and addresses.", format: String, default: '' },
      key: { doc: 'PEM private key of broker.tls.cert. Empty: tls/server.key in hub.stateDir.', format: String, default: '' },
      ca: { doc: "PEM file of the CA that signed broker.tls.cert: the hub verifies its own broker with it when broker.plain is off, and `voice-hub satellite add` points satellites at it. Empty: tls/ca.crt in hub.stateDir (the local CA of `voice-hub tls init`).", format: String, default: '' },
    },
  },
  stt: {
    engine: { doc: 'Speech-to-text engine. auto: Vosk when stt.vosk.model holds a model, else pocketsphinx; a Vosk model or library that fails to load falls back to pocketsphinx with a warning (stt.fallback in the hub status). A named engine must start, or the hub stops with its code. crash-test is for tests only: pocketsphinx that calls abort() half a second into the first session of the first STT process, to show that a native crash fails only that session.', format: ['auto', 'vosk', 'pocketsphinx', 'crash-test'], default: 'auto' },
    workers: { doc: 'Decoder worker threads; 0 = one per CPU core. A Vosk model is loaded once and shared by all of them (more workers cost threads, not models); pocketsphinx loads its model per decoder.', format: nonNegativeInt('nonNegativeInt'), default: 0 },
    maxSessions: { doc: 'Most sessions decoded at once; further wakes get VOICE_SESSION_LIMIT.', format: positiveInt('positiveInt'), default: 32 },
    queueMs: {
      doc: 'A wake that comes while the hub decodes all the sessions it can at once is queued: the person goes on speaking, its audio is kept and decoded, faster than real time, once a decoder is free. The wait that counts is the one after they stop: a session still queued this long after its audio stopped, or any such wake when it is 0, is refused with VOICE_BUSY (the satellite plays a busy tone). While the person speaks, session.maxLengthMs and session.timeoutMs bound the session as any other. Queued sessions outlive a restart of the STT process and are decoded by the new one.',
      format: nonNegativeInt('nonNegativeInt'),
      default: 3000,
    },
    warmSessions: {
      doc: 'Sessions the hub can decode at once without loading anything: pocketsphinx decoders (~0.2 s and ~48 MB each) are made for this many when the STT process starts, spread over stt.workers, so no session waits for another one\'s decoder to load. 0 = four per CPU core, as far as a quarter of the memory holds them at 64 MB each, and never fewer than one per worker (the start-up log says what it chose). Vosk recognizers are made per session on the shared model.',
      format: nonNegativeInt('nonNegativeInt'),
      default: 0,
    },
    vosk: {
      model: { doc: 'Directory of an unpacked Vosk model (relative paths are from the working directory).', format: String, default: 'models/vosk-model-small-en-us-0.15' },
      library: { doc: 'Path to libvosk.so, 0.3.37 or newer (an older one is refused at start with VOICE_STT_LIBRARY_UNSUPPORTED). Empty: the one the vosk-koffi package holds (see scripts/install-libvosk.sh).', format: String, default: '' },
    },
    pocketsphinx: {
      hmm: { doc: 'pocketsphinx acoustic model directory.', format: String, default: `${PS_MODEL}/en-us` },
      lm: { doc: 'pocketsphinx language model.', format: String, default: `${PS_MODEL}/en-us.lm.bin` },
      dict: { doc: 'pocketsphinx pronunciation dictionary.', format: String, default: `${PS_MODEL}/cmudict-en-us.dict` },
      library: { doc: 'libpocketsphinx shared library (name or path).', format: String, default: 'libpocketsphinx.so.3' },
      sphinxbase: { doc: 'libsphinxbase shared library (name or path).', format: String, default: 'libsphinxbase.so.3' },
      args: {
        doc: 'Extra pocketsphinx decoder arguments, space-separated. The default caps active HMMs per frame (measured on 22 flite commands: real-time factor 0.117 -> 0.099, word error rate 10.5 -> 11.3 %). For many rooms on a small hub, "-fwdflat no -bestpath no -maxhmmpf 3000 -topn 2" halves the cost again and answers the final in 3 ms instead of ~50, at 12.9-17 % WER (docs/benchmarks.md); "" is the full search. On the command line write it with "=": --stt-pocketsphinx-args="-topn 2". The hub passes -remove_silence no before these: pocketsphinx\'s silence removal makes word times wrong, and the hub needs them to drop the wake word from transcripts.',
        format: String,
        default: '-maxhmmpf 3000',
      },
      commandArgs: {
        doc: 'Extra pocketsphinx decoder arguments for the command model\'s decoder (intents.commandModel), after stt.pocketsphinx.args, which it also gets: the same format. An option in both is refused by pocketsphinx (a duplicate), and the command model is then not loaded (a warning; sessions decode with the general model alone): give each option in one of the two. "" (the default) is the full search. "-fwdflat no -bestpath no" skips that decoder\'s second pass and lattice: in bench section 15 (docs/benchmarks.md) the session\'s final pass took 68 ms instead of 91 and both decoders 6 % less time, and it heard 118 of 132 commands word for word against 117; in the cold burst (section 9) 8 satellites at once got their finals no sooner; but in test/timers-hub.test.ts it heard the timer name "pasta" as "plastic", which the full search did not, so it is not the default.',
        format: String,
        default: '',
      },
    },
  },
  arbitration: {
    enabled: {
      doc: 'When satellites of one group (satellite.group; by default the whole house is one group) hear the same wake word, only the one that heard it best (highest wake SNR plus its wake.calibrationDb) opens a session; the others are told to end (reason arbitration-lost) and go back to idle. false: every wake opens a session of its own, as before.',
      format: Boolean,
      default: true,
    },
    windowMs: {
      doc: "The longest the hub waits, after a group's first wake, for the others that heard the same wake word. It closes sooner once every satellite that usually hears that one's wakes has reported (learned from recent decisions), or at once when no other satellite of the group is online. Audio is held meanwhile, so nothing is lost; the winner's first partial transcript comes that much later, its final not. Chosen by measurement (docs/benchmarks.md, section 11): satellites 0-150 ms apart reached the hub up to 398 ms apart (a quieter one fires a frame or more later); 500 leaves 100 ms for a loaded machine. A wake later than it is a late duplicate.",
      format: windowMs,
      default: 500,
    },
    lateMs: {
      doc: "A wake from the group that arrives after the window closed but within this long of the group's first wake, while the winner's session is live, is a late duplicate of the same wake word: it is refused the same way. Later wakes are someone speaking again and are arbitrated afresh.",
      format: positiveInt('positiveInt'),
      default: 2000,
    },
    tieDb: {
      doc: 'Calibrated SNRs this close (dB) to the best count as a tie: the wake score decides between them, then the earliest wake.',
      format: Number,
      default: 1,
    },
  },
  session: {
    partialIntervalMs: { doc: 'Least time between two partial transcripts of one session.', format: positiveInt('positiveInt'), default: 200 },
    timeoutMs: { doc: 'A session that receives no audio for this long ends (VOICE_SESSION_TIMEOUT) and its transcript so far is published.', format: positiveInt('positiveInt'), default: 4000 },
    finalTimeoutMs: {
      doc: 'The longest the hub waits for a final transcript after a session ends. Within it, the wait is worked out from the audio still to decode at the measured decode speed (and any time left in the queue, stt.queueMs), and again whenever the recognizer makes progress, so a session that is merely late is not dropped. Past it (VOICE_STT_TIMEOUT), the last partial is published as the final, marked incomplete.',
      format: positiveInt('positiveInt'),
      default: 30000,
    },
    maxLengthMs: { doc: 'A session is finalised after this much audio after the wake word fired (reason max-length; the pre-roll before it does not count).', format: positiveInt('positiveInt'), default: 15000 },
    maxWakesPerMinute: { doc: 'Most wakes one satellite may send in any 60 s (wake word, remote listen, follow-up; a wake that loses cross-room arbitration counts too); more are refused with VOICE_WAKE_RATE_LIMITED and the satellite told to end them. Per satellite: others are not affected. A person cannot say the wake word much more than 15 times a minute (a session, then wake.refractoryMs). 0: no limit.', format: nonNegativeInt('nonNegativeInt'), default: 20 },
    maxAudioBytesPerSecond: { doc: 'Fastest audio one satellite may send, in bytes per second averaged over 5 s (a burst of up to 5 s worth is allowed: the pre-roll, frames held back while the broker was away). A satellite streams 32000 (16 kHz, 16-bit, mono); past the limit its live session is ended with VOICE_AUDIO_RATE_EXCEEDED. Per satellite: others are not affected. 0: no limit.', format: nonNegativeInt('nonNegativeInt'), default: 64000 },
    maxFrameBytes: { doc: 'Largest accepted audio frame; larger frames are dropped with VOICE_FRAME_TOO_LARGE.', format: positiveInt('positiveInt'), default: 32000 },
    endpoint: { doc: "Finalise when the engine itself detects the end of speech, without waiting for the satellite's stop.", format: Boolean, default: true },
    endpointMinMs: { doc: 'Engine endpoints in the first this-many ms of a session are ignored. An endpoint also needs a word of the command: one after only the wake word (trimmed, see session.wakeMarginMs) never ends a session.', format: nonNegativeInt('nonNegativeInt'), default: 1500 },
    wakeMarginMs: { doc: 'Only leading transcript words that end by this long after the point where the satellite\'s wake word fired (audio/start wakeMs) can be the wake word\'s. When the recognizer heard the last word of the wake phrase (from the wake message\'s wakeWord: hey_jarvis -> "jarvis"), it and the words before it are dropped; otherwise all of them are. In partial and final transcripts.', format: nonNegativeInt('nonNegativeInt'), default: 100 },
  },
  intents: {
    enabled: {
      doc: 'Match every final transcript against the sentence templates (the built-in config/intents/en.yaml, then the files in intents.dir) and publish what was understood on .../intent, or .../intent/none. Routing (docs/intents.md): a built-in intent (time, date, nevermind) is answered by the hub; any other waits reply.handledWaitMs for an automation to claim it and otherwise gets its honest unhandled response (or the LLM, for an intent whose file says unclaimed: llm); a transcript that matched nothing goes to the LLM. false: no intent topics, and every unclaimed transcript goes to the LLM.',
      format: Boolean,
      default: true,
    },
    dir: {
      doc: 'Directory of your intent files (*.yaml, read in name order after the built-in ones): your device names and areas, your own intents and sentences, your responses. A missing directory means none. Every problem in them is listed at start and the hub exits 78 (VOICE_INTENTS_INVALID). Format: docs/intents.md.',
      format: String,
      default: '/etc/voice-hub/intents',
    },
    commandModel: {
      doc: 'Decode every session also with a language model made from the templates and lists (written under hub.stateDir/intents, rebuilt when an intent file changes), beside the general model. When its words are a command (an exact template match, once the wake word is dropped), they are the transcript (its `decoder` field says `commands`); otherwise the general model\'s are, so questions and dictation are heard as before. Measured on spoken commands: far fewer misheard words for about a third more decoding work and ~7 MB per session (docs/intents.md, docs/benchmarks.md). pocketsphinx (with its n-gram search), and Vosk with a model that has a runtime graph (graph/HCLr.fst and graph/Gr.fst, the small models: a second recognizer on the same sentences as libvosk\'s grammar, tested against a fake libvosk only, accuracy unmeasured); a Vosk model with a static graph (HCLG.fst) decodes alone.',
      format: Boolean,
      default: true,
    },
    endOfCommandMs: {
      doc: 'Semantic end of speech: once a partial transcript is a whole command of two words or more that no template can go on from ("what time is it"; not "turn off the lights", which "in the bedroom" may follow), the session ends when the recognizer has decoded this much audio past its last word (transcript reason `complete`, the satellite is told to end), instead of waiting for the satellite\'s silence (vad.silenceMs) or the engine\'s endpoint. A word heard after it changes the decision. 0: off.',
      format: nonNegativeInt('nonNegativeInt'),
      default: 200,
    },
    minConfidence: {
      doc: 'Lowest confidence of a fuzzy match that still counts as the intent (1 = exact matches only). Confidence is 1 minus the edit cost (a misheard word costs 0.3-1, a missing or extra word 1) over the words said: one misheard word in five scores about 0.85.',
      format: (v: unknown) => {
        if (typeof v !== 'number' || !(v > 0) || v > 1) throw new Error('must be a number above 0 and at most 1');
      },
      default: 0.75,
    },
  },
  timers: {
    enabled: {
      doc: 'The hub keeps timers (with intents.enabled): it answers the timer intents itself (start, cancel one or all, pause, resume, add or remove time, time left), several per satellite, optionally named; publishes them on .../timer and, retained, .../timers; keeps them in hub.stateDir/timers.json across restarts; and rings a finished timer on the satellite that started it (docs/intents.md, Timers). false: the timer intents are only published, for an automation to claim.',
      format: Boolean,
      default: true,
    },
    max: { doc: 'Most timers one satellite may have at once; one more is refused with a spoken answer.', format: positiveInt('positiveInt'), default: 10 },
    ringLimitS: { doc: "How long a finished timer rings (the alarm, then its name, then the alarm every ~2 s) unless stopped sooner: the satellite's stop command, its wake word, or any new reply.", format: positiveInt('positiveInt'), default: 60 },
  },
  http: {
    enabled: { doc: 'The hub\'s HTTP server (docs/http.md): /health, /ready, /metrics, and the REST API under /api, which needs an identity of role automation (or the hub\'s own) with HTTP Basic auth.', format: Boolean, default: true },
    host: { doc: 'Address the HTTP server listens on. Loopback by default: the API transcribes and speaks, so open it to the LAN (0.0.0.0) only on purpose.', format: String, default: '127.0.0.1' },
    port: { doc: 'TCP port of the HTTP server; 0 picks a free port (tests).', format: 'port', default: 8780 },
    maxBodyBytes: { doc: 'Largest request body, in bytes; a larger one is refused with 413 VOICE_HTTP_TOO_LARGE before it is read. The default holds 5 minutes of 16 kHz 16-bit mono audio.', format: positiveInt('positiveInt'), default: 10485760 },
  },
  homeassistant: {
    enabled: {
      doc: 'Home Assistant MQTT discovery (docs/homeassistant.md): the hub publishes, retained under homeassistant.prefix, one device per satellite (state, last transcript, events, mute, volume, announce, listen, stop, timers) and one for itself, whose command entities publish on the satellites\' own command and announce topics; it publishes each satellite\'s state on .../state and its wakes, transcripts and intents on .../event, re-publishes when Home Assistant says online on <prefix>/status, and removes the devices of satellites that are gone. Needs Home Assistant 2024.11 or later (device discovery).',
      format: Boolean,
      default: true,
    },
    prefix: { doc: "Home Assistant's discovery prefix (its MQTT integration's setting; homeassistant unless changed there).", format: String, default: 'homeassistant' },
    readbackMs: { doc: 'At start, how long the hub reads back the retained discovery under homeassistant.prefix before it removes the devices of satellites it no longer knows (satellites that were removed while it was stopped).', format: positiveInt('positiveInt'), default: 5000 },
  },
  reply: {
    enabled: { doc: 'Answer final transcripts (automation claim, else the LLM) and speak the answer. false: the hub only transcribes.', format: Boolean, default: true },
    handledWaitMs: { doc: "After a final transcript, how long an automation has to claim it (or its intent) on .../handled before the hub answers it itself: an intent's unhandled response, or the LLM for a transcript that matched no intent (docs/intents.md, Routing). Built-in intents (time, date, nevermind) do not wait. Each tool call of the LLM that the hub does not answer itself waits this long for a claim too (docs/intents.md, \"The LLM's tools\"). Short keeps replies fast; automations that claim must answer within it.", format: nonNegativeInt('nonNegativeInt'), default: 150 },
    apology: { doc: 'Spoken when the LLM is unreachable, fails or times out.', format: String, default: "Sorry, I can't answer that right now." },
    followUp: { doc: 'After a reply that ends with a question, ask the satellite to listen again without the wake word.', format: Boolean, default: true },
    partialIntervalMs: { doc: 'Least time between two reply/partial messages (deltas are batched).', format: positiveInt('positiveInt'), default: 100 },
  },
  llm: {
    host: { doc: 'Ollama server URL.', format: String, default: 'http://127.0.0.1:11434' },
    model: { doc: 'Ollama model name.', format: String, default: 'llama3.2' },
    systemPrompt: {
      doc: "System prompt sent first in every chat. The default tells the model to act only through its tools (docs/intents.md, \"The LLM's tools\") and never to say it did something without one; whatever the prompt says, a reply that claims an action no tool call of it did is not spoken (the honest unhandled sentence is).",
      format: String,
      default:
        'You are a helpful voice assistant in a home. Answer in one to three short spoken sentences, without lists, markdown or emoji. You can act on the home only by calling the tools you are given: to switch, set, open, close, lock or unlock something, or to start or change a timer, call the tool. Never say you did something unless a tool call did it and its result says so; when a tool result says it was not done, say so plainly.',
    },
    options: { doc: 'Ollama model options (JSON object, e.g. {"temperature": 0.7, "num_predict": 200}).', format: Object, default: {} },
    keepAlive: { doc: 'How long Ollama keeps the model loaded after a request (Ollama duration, e.g. 5m, 1h, -1).', format: String, default: '30m' },
    firstTokenTimeoutMs: { doc: 'Abort if Ollama sends no token within this long (includes loading the model).', format: positiveInt('positiveInt'), default: 20000 },
    idleTimeoutMs: { doc: 'Abort if the stream stalls this long between tokens.', format: positiveInt('positiveInt'), default: 8000 },
    totalTimeoutMs: { doc: 'Abort any reply that takes longer than this in total.', format: positiveInt('positiveInt'), default: 60000 },
    historyTurns: { doc: 'Conversation memory per satellite: the last N question/answer pairs are sent with each request.', format: nonNegativeInt('nonNegativeInt'), default: 6 },
    historyIdleMs: { doc: "A satellite's conversation is forgotten after this long without a turn.", format: positiveInt('positiveInt'), default: 300000 },
    checkAtStart: { doc: 'When replies are on, the hub asks Ollama at start whether it is reachable and has llm.model (GET /api/tags), and reports VOICE_LLM_UNREACHABLE or VOICE_LLM_MODEL_MISSING on the hub\'s error topic if not (VOICE_LLM_TIMEOUT when it does not answer within 3 s, VOICE_LLM_FAILED for another failure). /ready asks again each time.', format: Boolean, default: true },
    preload: { doc: 'After a successful start check, load llm.model into Ollama (an empty generate request with llm.keepAlive), so the first question does not wait for the model to load.', format: Boolean, default: true },
    toolRounds: { doc: "Most tool rounds (a chat answered with tool calls, the calls performed, their results sent back) in one reply. When the LLM still calls tools after that many, the hub stops and says what was already said, or reply.apology when nothing was. 0: the LLM gets no tools (docs/intents.md, \"The LLM's tools\").", format: nonNegativeInt('nonNegativeInt'), default: 5 },
  },
  tts: {
    engine: { doc: 'Text-to-speech engine. auto: Piper when tts.piper.voice exists, else flite; a voice that fails to load falls back to flite with a warning (tts.fallback in the hub status). piper: the voice must load, or the hub stops with its code.', format: ['auto', 'piper', 'flite'], default: 'auto' },
    sentenceSilenceMs: { doc: 'Silence inserted after each spoken sentence.', format: nonNegativeInt('nonNegativeInt'), default: 200 },
    piper: {
      voice: { doc: 'Piper voice .onnx file (its config is the same path + .json).', format: String, default: 'models/en_US-lessac-medium.onnx' },
      speaker: { doc: "Speaker id for multi-speaker Piper voices: 0 to the voice's num_speakers - 1 (speaker_id_map in its .onnx.json names them); 0 for a single-speaker voice. Out of range, the voice is refused at start (VOICE_TTS_SPEAKER_INVALID).", format: nonNegativeInt('nonNegativeInt'), default: 0 },
      lengthScale: { doc: "Speaking rate: >1 slower, <1 faster; 0 uses the voice's own setting.", format: Number, default: 0 },
      threads: {
        doc: 'ONNX Runtime intra-op threads for Piper inference, in the TTS process. 0 = half the CPU cores, 1 to 4 (1 on a 2-core hub). Measured on 2 cores (docs/benchmarks.md section 7, the heavy fixture voice, ~0.1 s of inference per second of audio on one core, one 1.3 s sentence): 1 thread 143 ms; 2 threads 79 ms while the other core is idle, but 196 ms (1 thread: 142) and 65 % more CPU while it is busy, as STT and the broker keep it on a hub; during back-to-back synthesis the broker\'s forwarding p99 was 5.0 ms with 1 thread, 6.8 ms with 2. More threads only help on idle cores.',
        format: nonNegativeInt('nonNegativeInt'),
        default: 0,
      },
    },
    flite: {
      binary: { doc: 'flite executable.', format: String, default: 'flite' },
      voice: { doc: 'flite voice (built-in: slt, kal, kal16, awb, rms).', format: String, default: 'slt' },
    },
  },
  log: {
    level: { doc: 'Log level.', format: LOG_LEVELS, default: 'info' },
  },
  hub: {
    name: { doc: 'Name the hub reports in its status.', format: String, default: os.hostname() },
    stateDir: {
      doc: "Directory the hub keeps its state in (created 0700): identities.json, the identities that may use the embedded broker with their roles, rooms and scrypt-hashed secrets, and hub.secret, the hub's own secret, made at its first start (both 0600); timers.json, the timers (timers.enabled; an unreadable one is renamed timers.json.bad-<time>); volumes.json and wake-thresholds.json, each satellite's last playback volume and wake threshold (sent back to a satellite that restarts); intents/, the command model. The systemd unit sets /var/lib/voice-hub.",
      format: String,
      default: 'state',
    },
    timeZone: {
      doc: 'Time zone the hub tells the time and date in (an IANA name: Europe/Berlin, America/New_York). Empty: the system\'s (TZ, /etc/localtime).',
      format: (v: unknown) => {
        if (typeof v !== 'string') throw new Error('must be a string');
        if (v !== '') new Intl.DateTimeFormat('en-US', { timeZone: v });
      },
      default: '',
    },
    statusIntervalS: { doc: "Seconds between refreshes of the hub's retained status (voice/hub/status), so its eventLoop figures stay current; 0 publishes it only when the hub (re)connects to the broker.", format: nonNegativeInt('nonNegativeInt'), default: 60 },
    eventLoopWindowS: { doc: "Seconds of the hub's main event-loop delay summarized by eventLoop in its status (p50, p99, max): a rolling window that moves in halves, so the figures cover between half of it and all of it.", format: positiveInt('positiveInt'), default: 60 },
  },
});

export interface HubConfig {
  mqtt: { url: string; username: string; password: string; ca: string; topicRoot: string; clientId: string };
  broker: {
    host: string;
    port: number;
    allowAnonymous: boolean;
    maxPacketBytes: number;
    plain: 'on' | 'loopback' | 'off';
    tls: { enabled: 'auto' | 'on' | 'off'; host: string; port: number; cert: string; key: string; ca: string };
  };
  stt: {
    engine: 'auto' | 'vosk' | 'pocketsphinx' | 'crash-test';
    workers: number;
    maxSessions: number;
    warmSessions: number;
    queueMs: number;
    vosk: { model: string; library: string };
    pocketsphinx: { hmm: string; lm: string; dict: string; library: string; sphinxbase: string; args: string; commandArgs: string };
  };
  arbitration: { enabled: boolean; windowMs: number; lateMs: number; tieDb: number };
  session: { partialIntervalMs: number; timeoutMs: number; finalTimeoutMs: number; maxLengthMs: number; maxWakesPerMinute: number; maxAudioBytesPerSecond: number; maxFrameBytes: number; endpoint: boolean; endpointMinMs: number; wakeMarginMs: number };
  intents: { enabled: boolean; dir: string; commandModel: boolean; endOfCommandMs: number; minConfidence: number };
  timers: { enabled: boolean; max: number; ringLimitS: number };
  http: { enabled: boolean; host: string; port: number; maxBodyBytes: number };
  homeassistant: { enabled: boolean; prefix: string; readbackMs: number };
  reply: { enabled: boolean; handledWaitMs: number; apology: string; followUp: boolean; partialIntervalMs: number };
  llm: {
    host: string;
    model: string;
    systemPrompt: string;
    options: Record<string, unknown>;
    keepAlive: string;
    firstTokenTimeoutMs: number;
    idleTimeoutMs: number;
    totalTimeoutMs: number;
    historyTurns: number;
    historyIdleMs: number;
    checkAtStart: boolean;
    preload: boolean;
    toolRounds: number;
  };
  tts: {
    engine: 'auto' | 'piper' | 'flite';
    sentenceSilenceMs: number;
    piper: { voice: string; speaker: number; lengthScale: number; threads: number };
    flite: { binary: string; voice: string };
  };
  log: { level: string };
  hub: { name: string; stateDir: string; timeZone: string; statusIntervalS: number; eventLoopWindowS: number };
}
