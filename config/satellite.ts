/** The satellite's config schema: the single source of every default, doc and env name. */
import * as os from 'node:os';
import { LOG_LEVELS, mqttUrl, nonNegativeInt, positiveInt, topicRoot, unitInterval, withEnvAndArgs } from '../common/config';
import { isValidId } from '../common/protocol';

function satelliteId(v: unknown): void {
  if (!isValidId(v)) throw new Error('must be 1-64 characters of A-Z a-z 0-9 _ - (it becomes a topic level)');
}

function calibrationDb(v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < -40 || v > 40) throw new Error('must be a number of dB between -40 and 40');
}

const defaultId = os.hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64) || 'satellite';

export const satelliteSchema = withEnvAndArgs('VOICE_SAT', {
  satellite: {
    id: { doc: 'Satellite id, a topic level: voice/satellite/<id>/... Defaults to the host name.', format: satelliteId, default: defaultId },
    room: { doc: 'Room the satellite stands in; sent in status and wake messages and copied into transcripts.', format: String, default: 'default' },
    group: { doc: 'Optional group of rooms the satellite belongs to (e.g. upstairs); sent in its status, kept by the hub\'s satellite registry. Empty: none.', format: String, default: '' },
  },
  mqtt: {
    url: { doc: "The hub's broker.", format: mqttUrl, default: 'mqtt://localhost:1883' },
    username: { doc: 'Broker username.', format: String, default: '' },
    password: { doc: 'Broker password.', format: String, default: '', sensitive: true },
    ca: { doc: "With an mqtts:// URL: a PEM file of the CA the broker's certificate must chain to, trusted instead of the system CAs. For the hub's embedded broker, a copy of its tls/ca.crt (`voice-hub tls init`): the satellite then talks to that hub only. Empty: the system CAs.", format: String, default: '' },
    topicRoot: { doc: 'First level of every topic; must match the hub.', format: topicRoot, default: 'voice' },
  },
  audio: {
    source: { doc: 'Where audio comes from: microphone (naudiodon/PortAudio), command (raw s16le 16 kHz mono on stdout) or wav (a file, for demos and tests).', format: ['microphone', 'command', 'wav'], default: 'microphone' },
    device: { doc: 'microphone: PortAudio input device id or a substring of its name; -1 or empty for the default device.', format: String, default: '-1' },
    command: { doc: 'command: the capture command line, run without a shell.', format: String, default: 'arecord -q -t raw -f S16_LE -r 16000 -c 1' },
    wav: { doc: 'wav: path of a WAV file (any rate/channels of 16-bit PCM are converted).', format: String, default: '' },
    wavRealtime: { doc: 'wav: replay at real-time pace (false: as fast as the pipeline takes it).', format: Boolean, default: true },
    wavTrailingSilenceMs: { doc: 'wav: silence fed after the file ends, so the VAD can close the utterance; then the source ends.', format: nonNegativeInt('nonNegativeInt'), default: 3000 },
  },
  wake: {
    engine: { doc: 'Wake-word engine. auto: porcupine when wake.porcupine.accessKey is set, else openwakeword.', format: ['auto', 'openwakeword', 'porcupine'], default: 'auto' },
    keyword: { doc: 'openWakeWord model: a built-in name (hey_jarvis, alexa, hey_mycroft, hey_rhasspy, timer, weather) or a path to a .onnx keyword model.', format: String, default: 'hey_jarvis' },
    threshold: { doc: 'openWakeWord score (0-1) at which the wake word fires. The threshold command changes it while the satellite runs (docs/protocol.md, Commands); the satellite starts at this value again when it restarts, and the hub then sets it back to the last threshold it saw (hub.stateDir/wake-thresholds.json; docs/protocol.md, Kept settings): to make a new value here stick, also send it with the threshold command, or remove the satellite from that file.', format: unitInterval, default: 0.5 },
    refractoryMs: { doc: 'After a wake or the end of a session, the wake word cannot fire again for this long.', format: nonNegativeInt('nonNegativeInt'), default: 2000 },
    duringPlayback: { doc: "While a reply plays: raise (openWakeWord needs wake.playbackThreshold, so the satellite's own voice does not wake it but a person still can: barge-in), pause (no wake word until playback ends) or normal.", format: ['raise', 'pause', 'normal'], default: 'raise' },
    playbackTailMs: { doc: 'The during-playback rule still applies this long after playback ends: the microphone hears the last words late (capture latency, room echo).', format: nonNegativeInt('nonNegativeInt'), default: 1500 },
    playbackThreshold: { doc: 'openWakeWord threshold while a reply plays (wake.duringPlayback=raise). A detection needs wake.threshold too, so the higher of the two applies (also after a threshold command; the command does not change this one). Porcupine cannot raise and pauses instead.', format: unitInterval, default: 0.9 },
    calibrationDb: {
      doc: "Added to this satellite's wake SNR when the hub arbitrates between satellites that heard one wake word (the highest wins): a microphone that hears speech louder than the others at the same distance gets a negative offset. Sent in the wake message; between -40 and 40 dB.",
      format: calibrationDb,
      default: 0,
    },
    porcupine: {
      accessKey: { doc: 'Picovoice AccessKey; setting it selects Porcupine under wake.engine=auto. Porcupine activates keys online.', format: String, default: '', sensitive: true },
      keyword: { doc: 'Porcupine built-in keyword (e.g. jarvis, computer, porcupine) or a path to a .ppn file.', format: String, default: 'jarvis' },
      sensitivity: { doc: 'Porcupine sensitivity (0-1).', format: unitInterval, default: 0.5 },
    },
  },
  playback: {
    sink: { doc: 'Where replies are played: speaker (naudiodon/PortAudio), command (raw s16le on stdin, e.g. aplay) or file (WAV files in playback.dir, for tests).', format: ['speaker', 'command', 'file'], default: 'speaker' },
    device: { doc: 'speaker: PortAudio output device id or a substring of its name; -1 or empty for the default.', format: String, default: '-1' },
    command: { doc: 'command: the playback command line; {rate} is replaced by the stream sample rate.', format: String, default: 'aplay -q -t raw -f S16_LE -c 1 -r {rate}' },
    dir: { doc: 'file: directory for <sessionId>.wav files, each with <sessionId>.json beside it (startedAt and endedAt, epoch ms; how: ended or stopped; playedMs).', format: String, default: '/tmp/voice-satellite-playback' },
    volume: { doc: "Playback volume at start, 0-100 (100: the audio as it came; the gain is (volume/100)^2, so 50 is about -12 dB). The hub's volume command changes it while the satellite runs, and the hub sets it again to the last volume it saw whenever the satellite comes online (docs/protocol.md).", format: (v: unknown) => { if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 100) throw new Error('must be a whole number from 0 to 100'); }, default: 100 },
    leadInMs: { doc: 'speaker and command sinks: silence played before each reply, so its first syllable is not lost. Without it, the start of a reply was missing from what a PulseAudio sink played (measured: up to 480 ms), and many amplifiers mute until they hear signal. 0: none. playedMs and startedAt count from the end of it.', format: nonNegativeInt('nonNegativeInt'), default: 100 },
    bufferMs: { doc: 'Jitter buffer: audio collected before playback starts (or until the stream ends).', format: nonNegativeInt('nonNegativeInt'), default: 150 },
  },
  privacy: {
    listenEarcon: {
      doc: 'A session opened by a remote listen command (not by the wake word, not a follow-up) first plays a short rising two-note chime (880 then 1320 Hz, 220 ms) through the playback sink, and only then streams: what the microphone hears before the chime ends, and 200 ms after it, is never sent, so the chime does not reach the hub. If the chime cannot be played the session is ended (the microphone is not opened silently). false: listen streams at once, with the pre-roll, as before. Either way the retained status says listening: true, openedBy: remote while the session streams.',
      format: Boolean,
      default: true,
    },
  },
  followUp: {
    listenMs: { doc: 'After a reply that asks a question, listen this long for an answer without the wake word; 0 turns follow-up off.', format: nonNegativeInt('nonNegativeInt'), default: 5000 },
  },
  vad: {
    threshold: { doc: 'Silero VAD speech probability above which a 32 ms frame counts as speech.', format: unitInterval, default: 0.5 },
    silenceMs: { doc: 'Silence after speech that ends the utterance.', format: positiveInt('positiveInt'), default: 400 },
    maxUtteranceMs: { doc: 'Longest utterance streamed after a wake.', format: positiveInt('positiveInt'), default: 12000 },
    noSpeechMs: { doc: 'If no speech starts this long after the wake word ends, the session stops (reason no-speech).', format: positiveInt('positiveInt'), default: 4000 },
    preRollMs: { doc: 'Audio from before the wake word fired, sent first. The default holds the whole wake phrase: the hub decodes it as words and drops them (session.wakeMarginMs), so a command run on from the wake word keeps its first word and does not start from a fragment of the wake word. Chosen by measurement: see "Wake word and pre-roll" below.', format: nonNegativeInt('nonNegativeInt'), default: 1200 },
    wakeGapMs: { doc: 'The wake word ends at the first silence this long after the detector fired (it can fire before the word is over); speech before that is the wake word, not the command.', format: positiveInt('positiveInt'), default: 96 },
    wakeTailMaxMs: { doc: 'The wake word ends at most this long after the detector fired, silence or not: speech after that is the command (a speaker who runs it on without a pause). About the length of the wake word\'s last syllable; longer and a short command said without a pause ("good night") is taken for the wake word and the session waits vad.noSpeechMs.', format: positiveInt('positiveInt'), default: 400 },
  },
  log: {
    level: { doc: 'Log level.', format: LOG_LEVELS, default: 'info' },
  },
});

export interface SatelliteConfig {
  satellite: { id: string; room: string; group: string };
  mqtt: { url: string; username: string; password: string; ca: string; topicRoot: string };
  audio: { source: 'microphone' | 'command' | 'wav'; device: string; command: string; wav: string; wavRealtime: boolean; wavTrailingSilenceMs: number };
  wake: {
    engine: 'auto' | 'openwakeword' | 'porcupine';
    keyword: string;
    threshold: number;
    refractoryMs: number;
    duringPlayback: 'raise' | 'pause' | 'normal';
    playbackTailMs: number;
    playbackThreshold: number;
    calibrationDb: number;
    porcupine: { accessKey: string; keyword: string; sensitivity: number };
  };
  playback: { sink: 'speaker' | 'command' | 'file'; device: string; command: string; dir: string; volume: number; bufferMs: number; leadInMs: number };
  followUp: { listenMs: number };
  privacy: { listenEarcon: boolean };
  vad: { threshold: number; silenceMs: number; maxUtteranceMs: number; noSpeechMs: number; preRollMs: number; wakeGapMs: number; wakeTailMaxMs: number };
  log: { level: string };
}
