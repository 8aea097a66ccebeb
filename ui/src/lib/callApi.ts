// Typed wrappers around the call's Tauri commands. The view-model types are generated from
// Rust (generated/call.ts); a refusal comes back as an AppError with the server's reason.
import { Channel, invoke } from "@tauri-apps/api/core";
import type {
  DeviceKind,
  MetadataScope,
  JoinRequest,
  JoinedView,
  ReactionView,
  RosterPageView,
  ScreenView,
  TileSize,
} from "./generated/call";
import type { AnyCallEvent } from "./apps/types";
import type { MeterReading } from "./levels";
import type { MemberAction } from "./permissions";

export const callApi = {
  join: (request: JoinRequest, onEvent: Channel<AnyCallEvent>) =>
    invoke<JoinedView>("call_join", { request, onEvent }),
  leave: () => invoke<void>("call_leave"),
  endForAll: () => invoke<void>("call_end_for_all"),
  setAudio: (muted: boolean) => invoke<void>("call_set_audio", { muted }),
  setVideo: (on: boolean) => invoke<void>("call_set_video", { on }),
  /** Starts sharing a screen (null: the primary one) or stops. */
  share: (on: boolean, screenId: string | null = null) => invoke<void>("call_share", { on, screenId }),
  screens: () => invoke<ScreenView[]>("screens_list"),
  chat: (text: string, to: number | null) => invoke<void>("call_chat", { text, to }),
  setHand: (raised: boolean) => invoke<void>("call_set_hand", { raised }),
  react: (reaction: ReactionView) => invoke<void>("call_react", { reaction }),
  tileSizes: (sizes: TileSize[]) => invoke<void>("call_tile_sizes", { sizes }),
  /**
   * One page of the audience in join order: at most `limit` (1–500) after the cursor `after`
   * (null: from the start), only names matching `search` when there is one.
   */
  rosterPage: (after: string | null, limit: number, search: string | null) =>
    invoke<RosterPageView>("call_roster_page", { after, limit, search }),
  /** Sets `key` of the session's metadata (host, manager) or of mine to the JSON text `value`. */
  setMetadata: (scope: MetadataScope, key: string, value: string) =>
    invoke<void>("call_set_metadata", { scope, key, value }),
  deleteMetadata: (scope: MetadataScope, key: string) => invoke<void>("call_delete_metadata", { scope, key }),
  /** Moves the call to another device; null picks the system's default. */
  switchDevice: (kind: DeviceKind, id: string | null) => invoke<void>("call_switch_device", { kind, id }),
  /** Plays one member at `volume` (0 to 2) here, for the rest of the call. */
  setMemberVolume: (participant: number, volume: number) =>
    invoke<void>("call_set_member_volume", { participant, volume }),
  /** The level of what I send (after the input volume) and whether the gate lets it through. */
  inputLevel: () => invoke<MeterReading>("call_input_level"),
  muteAll: () => invoke<void>("manage_mute_all"),
  removeOthers: () => invoke<void>("manage_remove_others"),
  lockSession: (locked: boolean) => invoke<void>("manage_lock_session", { locked }),
  lockSharing: (locked: boolean) => invoke<void>("manage_lock_sharing", { locked }),
  audienceChat: (allowed: boolean) => invoke<void>("manage_audience_chat", { allowed }),
  spotlight: (participant: number | null) => invoke<void>("manage_spotlight", { participant }),
  rename: (participant: number, name: string) => invoke<void>("manage_rename", { participant, name }),
  /** Deafens or undeafens me (null) or, for hosts and managers, someone else. */
  setDeaf: (participant: number | null, deaf: boolean) => invoke<void>("manage_set_deaf", { participant, deaf }),
  setHandsFirst: (on: boolean) => invoke<void>("manage_set_hands_first", { on }),
  setWaitingRoom: (on: boolean) => invoke<void>("manage_set_waiting_room", { on }),
  admit: (waiter: number) => invoke<void>("manage_admit", { waiter }),
  admitAll: () => invoke<void>("manage_admit_all"),
  deny: (waiter: number) => invoke<void>("manage_deny", { waiter }),
};

/** Sends one per-member host action (rename has its own wrapper: it needs a name). */
export function memberAction(action: Exclude<MemberAction, "rename">, participant: number): Promise<void> {
  if (action === "deafen" || action === "undeafen") return callApi.setDeaf(participant, action === "deafen");
  const command: Record<Exclude<MemberAction, "rename" | "deafen" | "undeafen">, string> = {
    mute: "manage_mute",
    ask_unmute: "manage_ask_unmute",
    stop_video: "manage_stop_video",
    lower_hand: "manage_lower_hand",
    spotlight: "manage_spotlight",
    unspotlight: "manage_spotlight",
    promote: "manage_promote",
    demote: "manage_demote",
    make_manager: "manage_make_manager",
    revoke_manager: "manage_revoke_manager",
    transfer_host: "manage_transfer_host",
    remove: "manage_remove",
  };
  return invoke<void>(command[action], { participant: action === "unspotlight" ? null : participant });
}
