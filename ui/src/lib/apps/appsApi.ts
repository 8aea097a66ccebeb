// Typed wrappers around the apps' Tauri commands (docs/apps.md). A refusal comes back as an
// AppError with the session's reason, as for every other command.
import { invoke } from "@tauri-apps/api/core";
import type { AppEntry } from "./types";

export const appsApi = {
  /** The built-in apps, then the installed ones (with the problem of any that cannot open). */
  list: () => invoke<AppEntry[]>("apps_list"),
  /** Where installed apps live, to tell the user. */
  folder: () => invoke<string>("apps_folder"),
  /** Connects to the app's channel; the session answers with an `app_opened` event. */
  open: (app: string) => invoke<void>("call_app_open", { app }),
  close: (app: string) => invoke<void>("call_app_close", { app }),
  message: (app: string, data: unknown) => invoke<void>("call_app_message", { app, data }),
  setState: (app: string, state: unknown) => invoke<void>("call_app_set_state", { app, state }),
  /** Invites these members, or (null) everyone else in the session. */
  invite: (app: string, to: number[] | null) => invoke<void>("call_app_invite", { app, to }),
};

export type AppsApi = typeof appsApi;
