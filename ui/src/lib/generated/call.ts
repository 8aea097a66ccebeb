// Generated from src-tauri/src/call/view.rs by its tests; do not edit.
// Regenerate: HUDDLE_UPDATE_GENERATED=1 cargo test -p huddle generated_types

import type { ErrorView } from "./error";

export type RoleView = "host" | "manager" | "participant" | "audience";

export type ReactionView = "thumbs_up" | "clap" | "heart" | "joy" | "surprised" | "tada";

export type MemberView = { id: number, name: string, role: RoleView, isMe: boolean, audioMuted: boolean, videoOn: boolean, sharing: boolean, talking: boolean, handRaised: boolean, 
/**
 * Hears nobody: the server sends the member no audio.
 */
deafened: boolean, 
/**
 * The member's link to the server is down; they keep their place for a grace period.
 */
reconnecting: boolean, joinOrder: number, };

export type SessionView = { name: string, locked: boolean, shareLocked: boolean, spotlight: number | null, passcodeProtected: boolean, audienceChat: boolean, maxActive: number, capacity: number, 
/**
 * Joiners wait in the lobby until a host or manager lets them in.
 */
waitingRoom: boolean, 
/**
 * Raised hands come first in the grid (the host's choice).
 */
handsFirst: boolean, };

export type LinkView = "connected" | "reconnecting" | "closed";

export type CallSnapshot = { me: number, role: RoleView, session: SessionView, 
/**
 * The members on the stage (host, managers, participants) and me, in join order.
 */
members: Array<MemberView>, audience: AudienceView, 
/**
 * Who waits in the lobby, oldest first (hosts and managers only).
 */
lobby: Array<WaiterView>, link: LinkView, 
/**
 * The session's metadata (set by the host and managers), by key.
 */
metadata: Array<MetadataEntryView>, 
/**
 * My own member metadata, by key.
 */
myMetadata: Array<MetadataEntryView>, };

export type MetadataEntryView = { key: string, value: string, };

export type MetadataScope = "room" | "mine";

export type AudienceView = { 
/**
 * Every audience member in the session.
 */
count: number, 
/**
 * Audience members with a raised hand, in join order; known to hosts and managers
 * only (empty for others).
 */
raisedHands: Array<MemberView>, };

export type WaiterView = { id: number, name: string, };

export type RosterPageView = { members: Array<MemberView>, 
/**
 * The cursor of the next page; absent after the last.
 */
next: string | null, 
/**
 * Audience members matching the search (all of them without one).
 */
count: number, };

export type ChatView = { seq: number, from: number, fromName: string, 
/**
 * The recipient of a private message; `null` for everyone.
 */
to: number | null, text: string, };

export type EndView = { "kind": "left" } | { "kind": "removed", by: string | null, } | { "kind": "ended_by_host", by: string | null, } | { "kind": "idle_timeout" } | { "kind": "empty" } | { "kind": "server_shutdown" } | { "kind": "resume_refused", detail: string, } | { "kind": "connection_lost", detail: string, };

export type LeaveView = "left" | "removed" | "connection_lost" | "session_ended";

export type NoticeView = { "kind": "joined", id: number, name: string, } | { "kind": "left", id: number, name: string, reason: LeaveView, by: string | null, } | { "kind": "you_were_muted", by: string, } | { "kind": "your_video_stopped", by: string, } | { "kind": "unmute_requested", by: string, } | { "kind": "you_were_renamed", by: string, name: string, } | { "kind": "your_hand_lowered", by: string, } | { "kind": "your_role_changed", by: string, role: RoleView, } | { "kind": "your_hearing_changed", by: string, deaf: boolean, } | { "kind": "waiter_joined", id: number, name: string, } | { "kind": "you_were_removed", by: string, } | { "kind": "session_ended", reason: EndView, } | { "kind": "reaction", id: number, name: string, reaction: ReactionView, };

export type CallEvent = { "type": "state", state: CallSnapshot, } | { "type": "chat", message: ChatView, } | { "type": "notice", notice: NoticeView, } | { "type": "link", link: LinkView, } | { "type": "media", media: MediaView, } | { "type": "camera", camera: CameraView, } | { "type": "share_stopped", error: ErrorView, } | { "type": "quality", members: Array<MemberQuality>, } | { "type": "waiting", sessionName: string, } | { "type": "app_opened", app: string, state: unknown, recent: Array<AppMessageView>, } | { "type": "app_message", message: AppMessageView, } | { "type": "app_invitation", app: string, from: number, fromName: string, } | { "type": "closed", reason: EndView, };

export type AppMessageView = { app: string, seq: number, from: number, data: unknown, };

export type MediaView = { "kind": "connecting" } | { "kind": "connected" } | { "kind": "reconnecting" } | { "kind": "unavailable", detail: string, } | { "kind": "closed" };

export type CameraView = { "kind": "off" } | { "kind": "starting" } | { "kind": "live" } | { "kind": "failed", error: ErrorView, };

export type ScreenView = { id: string, label: string, width: number, height: number, primary: boolean, };

export type DeviceKind = "camera" | "microphone" | "speaker";

export type QualityView = "good" | "fair" | "poor";

export type MemberQuality = { id: number, quality: QualityView, };

export type JoinedView = { state: CallSnapshot, chat: Array<ChatView>, media: MediaView, 
/**
 * `huddle://join?…` for this session on the server joined, to hand to others.
 */
inviteLink: string, };

export type TileSize = { participant: number, width: number, height: number, };

export type JoinRequest = { 
/**
 * Empty: the server hosted on this computer.
 */
server: string, sessionName: string, displayName: string, passcode: string | null, 
/**
 * A join token, for a server in token mode (issued by the organisation's backend);
 * `null` or empty: none.
 */
token: string | null, audioMuted: boolean, videoOn: boolean, 
/**
 * The devices picked on the pre-join screen; `null`: the system's default.
 */
cameraId: string | null, microphoneId: string | null, speakerId: string | null, };
