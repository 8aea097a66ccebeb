// Typed wrappers around the app's Tauri commands. Every command returns either its value
// or an AppError { code, message } whose message is written for a person.
import { invoke } from "@tauri-apps/api/core";

export interface AppError {
  code: string;
  message: string;
}

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
  /** Host for others on this computer's network, not only for this computer. */
  hostOnNetwork: boolean;
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
  hostOnNetwork: false,
};

/** Turns whatever a command threw into an AppError. */
export function asAppError(err: unknown): AppError {
  if (typeof err === "object" && err !== null && "message" in err) {
    const e = err as { code?: unknown; message: unknown };
    return { code: typeof e.code === "string" ? e.code : "unknown", message: String(e.message) };
  }
  return { code: "unknown", message: String(err) };
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
  problem: string | null;
}

export const api = {
  hostStatus: () => invoke<HostStatus>("host_status"),
  hostStart: (reach: Reach) => invoke<HostStatus>("host_start", { reach }),
  hostStop: () => invoke<HostStatus>("host_stop"),
  appInfo: () => invoke<AppInfo>("app_info"),
  loadSettings: () => invoke<LoadedSettings>("load_settings"),
  saveSettings: (settings: Settings) => invoke<void>("save_settings", { settings }),
  devicesList: () => invoke<Devices>("devices_list"),
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
