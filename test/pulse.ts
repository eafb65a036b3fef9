/** PulseAudio virtual devices for audio tests (see the platform notes). */
import { execFileSync, spawnSync } from 'node:child_process';

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Starts PulseAudio (if needed) with a null sink "vmic_sink" whose monitor is remapped to the default source "vmic". */
export function ensureVirtualMic(): void {
  if (spawnSync('pulseaudio', ['--check']).status !== 0) {
    const r = spawnSync('pulseaudio', ['-D', '--exit-idle-time=-1']);
    if (r.status !== 0) throw new Error(`cannot start PulseAudio (apt-get install pulseaudio pulseaudio-utils libasound2-plugins): ${r.stderr.toString()}`);
  }
  const sinks = sh('pactl', ['list', 'short', 'sinks']);
  if (!sinks.includes('vmic_sink')) sh('pactl', ['load-module', 'module-null-sink', 'sink_name=vmic_sink']);
  const sources = sh('pactl', ['list', 'short', 'sources']);
  if (!/\bvmic\b/.test(sources)) sh('pactl', ['load-module', 'module-remap-source', 'master=vmic_sink.monitor', 'source_name=vmic']);
  sh('pactl', ['set-default-source', 'vmic']);
}


/** A null sink "vspk" as the default output; its monitor is what the speaker played. */
export function ensureVirtualSpeaker(): void {
  ensureVirtualMic();
  const sinks = sh('pactl', ['list', 'short', 'sinks']);
  if (!/\bvspk\b/.test(sinks)) sh('pactl', ['load-module', 'module-null-sink', 'sink_name=vspk']);
  sh('pactl', ['set-default-sink', 'vspk']);
}
