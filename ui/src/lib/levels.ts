// Volumes and the microphone's level: how sliders in percent become the gains the app takes,
// where the noise gate's threshold sits on the level meter, and the volume chosen for each
// member of the call (this listener's own choice; the app plays them so).

/** A level reading: the meter's position (0 at -60 dBFS of peak, 1 at 0 dBFS, after the input
 * volume), that peak, and whether the noise gate lets the voice through. */
export interface MeterReading {
  meter: number;
  dbfs: number;
  open: boolean;
}

export const VOLUME_MAX_PERCENT = 200;
/** The sensitivity slider's range, dBFS: the meter's scale from its floor up to a loud voice. */
export const GATE_MIN_DBFS = -60;
export const GATE_MAX_DBFS = -20;
/** Where the gate starts when it is turned on: above a quiet room, below a voice. */
export const GATE_DEFAULT_DBFS = -50;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Where a level in dBFS sits on the meter, 0..1 (as the app positions its readings). */
export function meterPosition(dbfs: number): number {
  return clamp((dbfs + 60) / 60, 0, 1);
}

/** A gain (0..2) as a slider's percent. */
export function toPercent(gain: number): number {
  return Math.round(clamp(Number.isFinite(gain) ? gain : 1, 0, 2) * 100);
}

/** A slider's percent as the gain the app takes (0..2). */
export function toGain(percent: number): number {
  return clamp(Number.isFinite(percent) ? percent : 100, 0, VOLUME_MAX_PERCENT) / 100;
}

/** A threshold kept within the slider's range, whole decibels. */
export function clampGate(dbfs: number): number {
  return Math.round(clamp(dbfs, GATE_MIN_DBFS, GATE_MAX_DBFS));
}

/** "Off", or the threshold in words. */
export function gateLabel(gate: number | null): string {
  return gate === null ? "Off" : `${gate} dB`;
}

/** Members' volumes in percent, by participant id; those not here play at 100 %. */
export type MemberVolumes = Readonly<Record<number, number>>;

export function volumeOf(volumes: MemberVolumes, participant: number): number {
  return volumes[participant] ?? 100;
}

/**
 * Asks the app to play `participant` at `percent` and returns the volumes with it; when the
 * app refuses (no call), the volumes stay as they were and the error goes on.
 */
export async function setVolume(
  volumes: MemberVolumes,
  participant: number,
  percent: number,
  send: (participant: number, gain: number) => Promise<void>,
): Promise<MemberVolumes> {
  const gain = toGain(percent);
  await send(participant, gain);
  return { ...volumes, [participant]: toPercent(gain) };
}
