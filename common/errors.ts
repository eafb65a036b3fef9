/**
 * Every error a user can see carries one of these stable codes. The table is
 * the single source of truth: docs/errors.md is generated from it (a test
 * checks), and `setup` marks start-up failures a restart cannot fix, which
 * exit 78 (EX_CONFIG) so systemd's RestartPreventExitStatus=78 stops a
 * restart loop. Config keys named in a doc are written in backticks and a
 * test checks that each exists in a schema.
 */
export interface ErrorInfo {
  /** A set-up failure: the process exits 78 instead of 1 when start-up fails with it. */
  setup: boolean;
  doc: string;
  /** The HTTP status when the hub's HTTP API answers with this code (docs/http.md); 500 when absent. */
  http?: number;
}

export const ERROR_CODES = {
  VOICE_CONFIG_INVALID: { setup: true, doc: 'The configuration failed validation. Every problem is listed; fix them and restart (exit code 78).' },
  VOICE_INTENTS_INVALID: { setup: true, doc: 'An intent file (the built-in config/intents/en.yaml or one in intents.dir) failed validation: bad YAML, an unknown key, a template that does not parse, an unknown list or rule, a bad range. Every problem in every file is listed with its file and key; fix them and restart (exit code 78). docs/intents.md has the format.' },
  VOICE_BAD_PAYLOAD: { setup: false, doc: 'A message on a topic the process subscribes to was not valid JSON or did not match the protocol schema. The message is dropped.' },
  VOICE_BAD_TOPIC: { setup: false, doc: 'A message arrived on a topic under the topic root that the process subscribes to but that is not in the protocol (an invalid satellite or session id, an unknown sub-topic). It goes to that satellite\'s error topic when the satellite id is valid, else to the hub\'s. The message is dropped.' },
  VOICE_UNKNOWN_SESSION: { setup: false, doc: 'Audio or a stop arrived for a session the hub does not know (never opened, already ended or timed out). The message is dropped.' },
  VOICE_FRAME_TOO_LARGE: { setup: false, doc: 'An audio frame exceeded `session.maxFrameBytes` (hub). The frame is dropped; send frames of at most that size (100 ms = 3200 bytes is typical).' },
  VOICE_AUDIO_FORMAT: { setup: false, doc: 'The audio start message announced a format other than s16le, 16000 Hz, mono, or a frame had an odd byte length. The session is aborted.' },
  VOICE_SESSION_BUSY: { setup: false, doc: 'A wake arrived while that satellite already had a live session. The new wake is ignored and the live session continues.' },
  VOICE_SESSION_LIMIT: { setup: false, doc: 'The hub already runs stt.maxSessions live sessions. The wake is refused and the satellite told to end it (command end); raise the limit or add workers.' },
  VOICE_BUSY: {
    setup: false,
    http: 503,
    doc: 'The hub is decoding all the sessions it can at once (its warm capacity, capacity under stt in the hub status, or fewer when the measured decode speed says the workers would fall behind real time), and no decoder came free within `stt.queueMs` after the session\'s audio stopped (at once when it is 0). The session is refused: the hub tells the satellite to end it with reason busy, and the satellite stops streaming and plays a short busy tone. Nothing was transcribed; say it again in a moment.',
  },
  VOICE_WAKE_RATE_LIMITED: {
    setup: false,
    doc: 'A satellite sent more than `session.maxWakesPerMinute` wakes within 60 s (hub): wake word, remote listen and follow-up wakes all count, and so do wakes that lost cross-room arbitration. The wake is refused: nothing is decoded and the hub tells the satellite to end the session (command end), as for any refusal; its next wake is admitted once one of the last minute\'s has aged out. At most one error per satellite per minute is published and logged, with the count refused since the last one; the other refusals only get the end command. Other satellites are not affected. A satellite that does this by itself hears its wake word too often (a television: raise wake.threshold); otherwise something is opening its microphone over and over (see who publishes listen commands).',
  },
  VOICE_MQTT_PACKET_TOO_LARGE: {
    setup: false,
    doc: 'A client sent the embedded broker an MQTT packet larger than `broker.maxPacketBytes` (hub). The broker closes that connection as soon as the packet\'s header declares its size, before reading the rest, and delivers nothing of it; the client may reconnect. Published on the satellite\'s error topic when the client was a satellite, else on the hub\'s, and logged with the client\'s address, at most once per client per minute with the count since the last one. Raise the cap if something you run publishes large messages (images) through the embedded broker.',
  },
  VOICE_AUDIO_RATE_EXCEEDED: {
    setup: false,
    doc: 'A satellite sent audio faster than `session.maxAudioBytesPerSecond` (hub), averaged over 5 s: it may send up to 5 s worth of that rate at once (the pre-roll, frames held back while the broker was away), but not keep it up. A satellite streams 32000 bytes per second (16 kHz, 16-bit, mono); more is a broken or hostile client. Its live session is ended: the frame that went over and the rest of its audio are dropped, no final transcript is published, and the hub tells the satellite to end the session. At most one error per satellite per minute is published and logged, with the count since the last one. Other satellites are not affected.',
  },
  VOICE_SESSION_TIMEOUT: { setup: false, doc: 'A satellite stopped sending audio for `session.timeoutMs` (hub). The hub finalises what it heard and frees the recognizer.' },
  VOICE_STT_MODEL_MISSING: { setup: true, doc: 'The speech-to-text model directory does not exist or lacks its files. Put a model under models/ (see models/README.md) or set the path in the config.' },
  VOICE_STT_MODEL_INVALID: { setup: true, doc: 'The speech-to-text engine refused to load the model directory (wrong or corrupt model). Re-download it.' },
  VOICE_STT_LIBRARY_MISSING: { setup: true, doc: 'The native speech-to-text library could not be loaded (libvosk.so or libpocketsphinx.so.3). Install it as the README says.' },
  VOICE_STT_LIBRARY_UNSUPPORTED: {
    setup: true,
    doc: 'The libvosk library (`stt.vosk.library`, or the one scripts/install-libvosk.sh installs) is older than 0.3.37: it lacks vosk_recognizer_set_partial_words, which the hub needs for word times, and releases before 0.3.32 abort the whole process on a bad model instead of reporting it. Refused at start, before any model is loaded. Install libvosk 0.3.37 or newer (scripts/install-libvosk.sh installs 0.3.39 on x86_64). With `stt.engine` auto the hub falls back to pocketsphinx with a warning.',
  },
  VOICE_STT_FAILED: { setup: false, doc: 'The speech-to-text engine failed while decoding a session (libvosk reported an exception, or the STT worker thread died). The session ends with this error and no final transcript; the hub and the next session carry on.' },
  VOICE_ENGINE_CRASHED: {
    setup: false,
    http: 503,
    doc: 'A native engine process died: the speech-to-text process (a libvosk or pocketsphinx crash, such as a Kaldi assertion calling abort()) or the text-to-speech process. Only what it held fails with this error: the sessions it was decoding, the sentence it was speaking. The hub, its broker and the satellites carry on; the process is started again at once after a first crash, then after a doubling delay of up to 30 s while it keeps crashing. While it restarts, new sessions are refused with this code. The hub status counts the restarts (restarts under stt and tts in voice/hub/status).',
  },
  VOICE_STT_TIMEOUT: {
    setup: false,
    http: 504,
    doc: 'The recognizer did not return a session\'s final transcript in time: the wait is worked out from the audio it still had to decode at the measured decode speed, at most `session.finalTimeoutMs`. The last partial is published as the final transcript, marked incomplete (`incomplete: true`), and the recognizer is freed; the next session carries on.',
  },
  VOICE_WAKE_MODEL_MISSING: { setup: true, doc: 'The wake-word model file was not found. Check `wake.keyword` (satellite): a built-in name or the path of an existing .onnx file.' },
  VOICE_WAKE_ACCESS_KEY: { setup: true, doc: 'Porcupine refused the configured access key (invalid, expired, or it could not be activated offline). Fix the key or switch wake.engine to openwakeword.' },
  VOICE_WAKE_FAILED: { setup: false, doc: 'The wake-word engine failed to start or to process audio.' },
  VOICE_WAKE_THRESHOLD_FIXED: {
    setup: false,
    doc: 'A `threshold` command reached a satellite whose wake engine cannot change its threshold while it runs: Porcupine, whose sensitivity is fixed when the engine is made. Published on that satellite\'s error topic; nothing changes. Set `wake.porcupine.sensitivity` in the satellite\'s config and restart it, or use `wake.engine` openwakeword, whose `wake.threshold` the command changes.',
  },
  VOICE_VAD_FAILED: { setup: false, doc: 'The voice-activity detector failed to load or to process audio.' },
  VOICE_AUDIO_SOURCE_FAILED: { setup: false, doc: 'The audio source could not be opened or died (no microphone, command exited, unreadable WAV).' },
  VOICE_TTS_FAILED: { setup: false, doc: 'Text-to-speech failed for a sentence (flite missing or crashed, Piper inference error). The reply text is still published; the rest of the reply is skipped.' },
  VOICE_TTS_VOICE_MISSING: { setup: true, doc: 'The configured Piper voice (.onnx and .onnx.json) was not found. Put a voice in models/ (npm run models) or set tts.engine=flite.' },
  VOICE_TTS_VOICE_INVALID: { setup: true, doc: 'The Piper voice could not be loaded (bad JSON config, not a Piper model, corrupt file). Re-download it.' },
  VOICE_TTS_VOICE_UNSUPPORTED: { setup: true, doc: "The Piper voice's phoneme_type (in its .onnx.json) is one the hub cannot phonemize: espeak and text voices are spoken; piper1-gpl's pinyin, hebrew and japanese voices need phonemizers the hub does not have. Use another voice or set `tts.engine` to flite. With `tts.engine` auto the hub falls back to flite with a warning." },
  VOICE_TTS_SPEAKER_INVALID: { setup: true, doc: 'The configured `tts.piper.speaker` is not a speaker of the Piper voice: a voice with num_speakers N in its .onnx.json has speaker ids 0 to N-1 (its speaker_id_map names them), a single-speaker voice only 0. Refused at start instead of failing every sentence; set `tts.piper.speaker` to an id in range. With `tts.engine` auto the hub falls back to flite with a warning.' },
  VOICE_LLM_UNREACHABLE: { setup: false, http: 502, doc: 'The Ollama server could not be reached (llm.host). The transcript is published, the satellite speaks reply.apology, and the next session tries again.' },
  VOICE_LLM_MODEL_MISSING: { setup: false, http: 404, doc: 'Ollama does not have the configured model (HTTP 404). Run `ollama pull <llm.model>` on the Ollama host.' },
  VOICE_LLM_TIMEOUT: { setup: false, http: 504, doc: 'Ollama did not answer within llm.firstTokenTimeoutMs, went silent for llm.idleTimeoutMs, or exceeded llm.totalTimeoutMs. The request is aborted and the apology spoken.' },
  VOICE_LLM_FAILED: { setup: false, http: 502, doc: 'Ollama returned an error or the stream broke mid-reply. What was already said stands; the apology follows.' },
  VOICE_LLM_NO_TOOLS: { setup: false, doc: 'The model (llm.model) does not support tools: Ollama refused a chat with tools (HTTP 400). Logged once as a warning; from then on the hub chats without tools, so the LLM answers in text and cannot act on devices. Pick a model with tool support (llama3.2, qwen2.5) to let it act.' },
  VOICE_PLAYBACK_FAILED: { setup: false, doc: 'The satellite could not play audio (no output device, playback command failed, bad TTS stream). The satellite keeps listening.' },
  VOICE_ANNOUNCE_NO_TARGET: { setup: false, doc: 'An announcement named a room or satellite that the hub has not seen online. Nothing is spoken.' },
  VOICE_BROKER_FAILED: { setup: false, doc: 'The embedded MQTT broker could not listen (port in use or not permitted).' },
  VOICE_IDENTITY_INVALID: { setup: false, doc: 'An identity command (`voice-hub satellite add`, `voice-hub automation add`, `remove`) was given a name or room that is not letters, digits, "_" and "-" (at most 64, starting with a letter or digit), or asked to remove the hub\'s own identity. Nothing was changed (exit code 1).' },
  VOICE_IDENTITY_EXISTS: { setup: false, doc: 'An identity of that name exists already. Remove it first to give it a new secret (its clients are disconnected), then add it again (exit code 1).' },
  VOICE_IDENTITY_UNKNOWN: { setup: false, doc: 'No identity of that name in the hub\'s store (`hub.stateDir`/identities.json). `voice-hub identities list` shows them (exit code 1).' },
  VOICE_IDENTITY_STORE_INVALID: { setup: true, doc: 'The identity store (`hub.stateDir`/identities.json) is not valid JSON. Restore it from a backup, or move it away and add the identities again; the hub keeps the identities it read before while it runs, and refuses to start with it (exit code 78).' },
  VOICE_MOSQUITTO_HASH_MISSING: { setup: false, doc: '`voice-hub mosquitto export` found identities added before it existed: they have no Mosquitto password hash, and the store keeps no secrets to make one from. The message names them; nothing was written (exit code 1). Remove and add each again (a new secret, to give its client), then export again; or export with `--skip-missing` to leave them out. The hub\'s own identity is not among them: the export (and the hub at its start) makes its hash from the hub\'s secret file in `hub.stateDir`.' },
  VOICE_MOSQUITTO_ALLOW_INVALID: { setup: false, doc: '`voice-hub mosquitto export --allow <filter>` was given something that is not an MQTT filter (spaces, control characters, a misplaced "+" or "#"), or a filter that matches topics under the topic root (`#`, `+/#`, `voice/...`): the rules under the root are the voice-hub ones, and a Mosquitto ACL cannot grant "everything but the root". Nothing was written (exit code 1).' },
  VOICE_TLS_INVALID: { setup: true, doc: "A TLS certificate, key or CA file cannot be read, is not PEM, or the key is not the certificate's (broker.tls.cert, broker.tls.key, broker.tls.ca, mqtt.ca); or broker.tls.enabled is on without a certificate. `voice-hub tls init` makes a local CA and a server certificate (docs/security.md, TLS)." },
  VOICE_MQTT_TLS_UNTRUSTED: { setup: true, doc: "The broker's TLS certificate was refused: expired or not yet valid (reason CERT_HAS_EXPIRED, CERT_NOT_YET_VALID), signed by a CA other than mqtt.ca (UNABLE_TO_VERIFY_LEAF_SIGNATURE, SELF_SIGNED_CERT_IN_CHAIN…), or not naming the host in mqtt.url (ERR_TLS_CERT_ALTNAME_INVALID). The client never sends its credentials to it; it logs the reason once and keeps retrying, and stops start-up if it never connects. Copy the hub's tls/ca.crt to mqtt.ca, use a host name the certificate holds (`voice-hub tls init --name`), or issue a new certificate." },
  VOICE_MQTT_UNREACHABLE: { setup: false, doc: 'The MQTT broker could not be reached; the client keeps retrying.' },
  VOICE_HTTP_UNAUTHORIZED: { setup: false, http: 401, doc: 'An HTTP request to the dashboard or the API (/api/...) had no credentials, or a name and secret the hub does not know, or a WebSocket (/api/live, /api/talk) came without a fresh token from GET /api/token. Send HTTP Basic auth with an identity of role automation: `voice-hub automation add <name>` prints its secret (curl -u name:secret).' },
  VOICE_HTTP_FORBIDDEN: { setup: false, http: 403, doc: 'An HTTP API request came with a satellite\'s identity (satellites may not use the API; use an identity of role automation), or a page of another site tried to open the hub\'s WebSockets (its Origin is not the hub\'s).' },
  VOICE_HTTP_BAD_REQUEST: { setup: false, http: 400, doc: 'An HTTP API request body was not valid JSON, or lacked a field or had one of the wrong type; the message names it. docs/http.md shows each request.' },
  VOICE_HTTP_UNSUPPORTED_MEDIA: { setup: false, http: 415, doc: 'An HTTP API request had a Content-Type the endpoint does not take: JSON endpoints need application/json; /api/stt/transcribe takes audio/wav (or audio/x-wav, audio/wave, audio/vnd.wave) and raw 16 kHz mono PCM as application/octet-stream (little-endian) or audio/L16 (big-endian, RFC 2586).' },
  VOICE_HTTP_TOO_LARGE: { setup: false, http: 413, doc: 'An HTTP request body was larger than `http.maxBodyBytes`. It is refused before it is read; send less audio or raise the limit.' },
  VOICE_HTTP_BAD_AUDIO: { setup: false, http: 400, doc: 'Audio sent to /api/stt/transcribe could not be used: a WAV whose RIFF header or chunks are broken, a WAV that is not 16-bit PCM or has more than 2 channels, an odd number of bytes of raw PCM, or no audio at all. Other sample rates and stereo are converted to 16 kHz mono.' },
  VOICE_HTTP_NOT_FOUND: { setup: false, http: 404, doc: 'No HTTP endpoint at that method and path. docs/http.md lists them.' },
  VOICE_HTTP_FAILED: { setup: false, doc: 'The HTTP server could not listen on `http.host`:`http.port` (port in use or not permitted). The hub stops with exit status 1, so systemd tries again (the port may come free); free the port, choose another, or set http.enabled false.' },
  VOICE_INTERNAL: { setup: false, doc: 'An unexpected internal error. The process keeps running; please report it with the log.' },
} as const satisfies Record<string, ErrorInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class VoiceError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VoiceError';
    this.code = code;
    this.details = details;
  }
}

export function isVoiceError(err: unknown): err is VoiceError {
  return err instanceof VoiceError;
}

/** Normalises anything thrown into a VoiceError, keeping the original as `cause`. */
export function toVoiceError(err: unknown, fallback: ErrorCode = 'VOICE_INTERNAL'): VoiceError {
  if (isVoiceError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new VoiceError(fallback, message, undefined, { cause: err });
}

/** True for codes whose start-up failure a restart cannot fix (exit 78). */
export function isSetupCode(code: string): boolean {
  return code in ERROR_CODES && ERROR_CODES[code as ErrorCode].setup;
}
