// Typed wrappers around the app's Tauri commands. Every command returns either its value
// or an AppError { kind, message, detail }: the message is written for a person, the detail
// is the technical account for the "Details" disclosure, and only the kind is for logic.
import { invoke } from "@tauri-apps/api/core";
import type { Theme } from "./theme";
import type { LinkView } from "./generated/links";
import type { ErrorView } from "./generated/error";

export type AppError = ErrorView;

export interface AppInfo {
  version: string;
  logDir: string;
  settingsPath: string;
}

export interface Settings {
  displayName: string;
  sessionName: string;
  serverUrl: string;
  joinMuted: boolean;
  joinVideoOff: boolean;
  mirrorPreview: boolean;
  cameraId: string | null;
  microphoneId: string | null;
  speakerId: string | null;
  /** The microphone's volume, 0 to 2 (1 leaves it as it is). */
  inputVolume: number;
  /** The input sensitivity: the noise gate's threshold in dBFS, or null for none. */
  inputGate: number | null;
  /** Host for others on this computer's network, not only for this computer. */
  hostOnNetwork: boolean;
  /** Light, dark, or the system's colours. */
  theme: Theme;
  /** Desktop notifications for mentions and private messages while the window is in the back. */
  notifications: boolean;
}

export interface LoadedSettings {
  settings: Settings;
  notice: string | null;
}

export const defaultSettings: Settings = {
  displayName: "",
  sessionName: "",
  serverUrl: "",
  joinMuted: false,
  joinVideoOff: false,
  mirrorPreview: true,
  cameraId: null,
  microphoneId: null,
  speakerId: null,
  inputVolume: 1,
  inputGate: null,
  hostOnNetwork: false,
  theme: "system",
  notifications: true,
};

/**
 * Turns whatever a command threw into an AppError. The app's commands throw one already;
 * anything else (a failure inside the page) is an internal error, its text kept as detail.
 */
export function asAppError(err: unknown): AppError {
  if (typeof err === "object" && err !== null && "kind" in err && "message" in err) {
    const e = err as { kind: unknown; message: unknown; detail?: unknown };
    if (typeof e.kind === "string" && typeof e.message === "string") {
      return {
        kind: e.kind as AppError["kind"],
        message: e.message,
        detail: typeof e.detail === "string" ? e.detail : null,
      };
    }
  }
  const detail = err instanceof Error ? err.message : typeof err === "string" ? err : JSON.stringify(err);
  return {
    kind: "internal",
    message: "Something went wrong inside Huddle. Try again; if it keeps happening, the log has the details.",
    detail: detail ?? null,
  };
}

/**
 * What a device's error becomes when the device list changes: "none found" follows the list
 * (it goes once a device appears, and comes when the last one goes); any other failure stays
 * until that device is tried again.
 */
export function afterListChange(shown: AppError | null, listProblem: AppError | null): AppError | null {
  if (shown === null || shown.kind === "device_not_found") return listProblem;
  return shown;
}

/** True inside the desktop app; false in a plain browser or a unit test. */
export function inDesktopApp(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

export interface Device {
  id: string;
  label: string;
  isDefault: boolean;
}

export interface Devices {
  cameras: Device[];
  microphones: Device[];
  speakers: Device[];
  /** Why a list is empty ("No microphone was found…"); null while it has a device. */
  cameraProblem: AppError | null;
  microphoneProblem: AppError | null;
  speakerProblem: AppError | null;
}

/** Who can join the server the app hosts. */
export type Reach = "thisComputer" | "network";

export interface HostStatus {
  running: boolean;
  /** Who can join while running; what was last started for while stopped. */
  reach: Reach;
  wsUrl: string | null;
  address: string | null;
  httpUrl: string | null;
  /** Why the last start failed, until one succeeds. */
  problem: AppError | null;
}

export const api = {
  hostStatus: () => invoke<HostStatus>("host_status"),
  hostStart: (reach: Reach) => invoke<HostStatus>("host_start", { reach }),
  hostStop: () => invoke<HostStatus>("host_stop"),
  appInfo: () => invoke<AppInfo>("app_info"),
  loadSettings: () => invoke<LoadedSettings>("load_settings"),
  saveSettings: (settings: Settings) => invoke<void>("save_settings", { settings }),
  devicesList: () => invoke<Devices>("devices_list"),
  /** The microphone's volume and gate, for the level meter and the call alike, live. */
  setAudioInput: (volume: number, gate: number | null) => invoke<void>("audio_input_set", { volume, gate }),
  /** The join link the app was opened with (or handed since), once. */
  takeJoinLink: () => invoke<LinkView | null>("take_join_link"),
};

/**
 * Keeps a device list current (devices plugged in or out): lists now (or, given the list
 * the caller `known` already, first after `everyMs`), then every `everyMs`, and calls
 * `onChange` whenever the list differs from the last one. A failed listing goes to
 * `onError` and the next one is tried as usual. Returns a function that stops watching.
 */
export function watchDevices(
  onChange: (devices: Devices) => void,
  onError: (err: unknown) => void,
  everyMs = 3000,
  list: () => Promise<Devices> = api.devicesList,
  known?: Devices,
): () => void {
  let last = known ? JSON.stringify(known) : "";
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const poll = async () => {
    try {
      const devices = await list();
      const key = JSON.stringify(devices);
      if (!stopped && key !== last) {
        last = key;
        onChange(devices);
      }
    } catch (err) {
      if (!stopped) onError(err);
    }
    if (!stopped) timer = setTimeout(poll, everyMs);
  };
  if (known) timer = setTimeout(poll, everyMs);
  else poll();
  return () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
  };
}
