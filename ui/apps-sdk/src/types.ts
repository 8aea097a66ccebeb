// The types of the Huddle apps SDK (docs/apps.md §4): what app authors import to type their
// calls, events and errors. The SDK itself is the global `window.huddleApps` (see global.d.ts).

/** A member's id in the session, as the session server numbers them. */
export type ParticipantId = number;

export type Role = "host" | "manager" | "participant" | "audience";

/** The SDK calls, in the order the docs list them (the bridge in the call view uses these too). */
export const SDK_CALLS = [
  "config",
  "getSupportedJsApis",
  "getMeetingContext",
  "getUserContext",
  "getMeetingParticipants",
  "connect",
  "postMessage",
  "setSharedState",
  "sendAppInvitation",
  "sendAppInvitationToAllParticipants",
  "showNotification",
  "expandApp",
  "closeApp",
] as const;

/** The SDK events. */
export const SDK_EVENTS = [
  "onParticipantChange",
  "onActiveSpeakerChange",
  "onMyMediaChange",
  "onMessage",
  "onConnect",
  "onExpandApp",
] as const;

export type ApiName = (typeof SDK_CALLS)[number];
export type EventName = (typeof SDK_EVENTS)[number];

/** What a manifest and `config` may list. */
export type Capability = ApiName | EventName;

/** The codes of a refused call: the bridge's (docs/apps.md §3) and the SDK's own `timeout`. */
export type ErrorCode =
  | "invalid_request"
  | "unknown_api"
  | "not_configured"
  | "not_declared"
  | "not_permitted"
  | "invalid_params"
  | "not_connected"
  | "too_large"
  | "rate_limited"
  | "failed"
  | "timeout";

export interface ConfigOptions {
  capabilities: Capability[];
}

export interface ConfigResult {
  runningContext: "inMeeting";
  clientVersion: string;
  /** What was granted. */
  capabilities: Capability[];
  /** What was asked for and refused. */
  unsupportedApis: string[];
}

export interface SupportedApis {
  apis: Capability[];
}

export interface MeetingContext {
  sessionName: string;
  meetingId: string;
  /** The user's role. */
  role: Role;
  audienceCount: number;
}

export interface UserContext {
  participantId: ParticipantId;
  displayName: string;
  role: Role;
  audioMuted: boolean;
  videoOn: boolean;
}

export interface Participant extends UserContext {
  handRaised: boolean;
}

export interface ParticipantsResult {
  participants: Participant[];
}

/** One message on the app's shared channel. */
export interface AppMessage {
  /** Its place on the channel: one more than the message before, the same for everyone. */
  seq: number;
  /** The sender, stamped by the server (trustworthy, unlike anything in `payload`). */
  from: ParticipantId;
  /** Whether this instance sent it. */
  fromMe: boolean;
  /** What the sender passed to `postMessage`; untrusted. */
  payload: unknown;
}

export interface ConnectResult {
  /** The latest `setSharedState` snapshot of the channel; null when none was set. */
  state: unknown;
  /** The most recent messages, oldest first. */
  recent: AppMessage[];
}

export interface InvitationOptions {
  participantIds: ParticipantId[];
}

export interface InvitationResult {
  invited: number;
}

export interface NotificationOptions {
  type: "info" | "warning" | "error";
  title: string;
  message: string;
}

export interface ExpandOptions {
  action: "expand" | "collapse";
}

export interface ExpandResult {
  expanded: boolean;
}

/** The answer of calls that answer nothing. */
export type Empty = Record<string, never>;

export interface ParticipantChange {
  status: "joined" | "left" | "changed";
  participantId: ParticipantId;
  displayName: string;
  role: Role;
}

export interface ParticipantChangeEvent {
  participants: ParticipantChange[];
}

export interface ActiveSpeakerEvent {
  participantIds: ParticipantId[];
}

export interface MyMediaEvent {
  audioMuted: boolean;
  videoOn: boolean;
  sharing: boolean;
}

/** Each event's payload. */
export interface EventPayloads {
  onParticipantChange: ParticipantChangeEvent;
  onActiveSpeakerChange: ActiveSpeakerEvent;
  onMyMediaChange: MyMediaEvent;
  onMessage: AppMessage;
  onConnect: ConnectResult;
  onExpandApp: ExpandResult;
}

export type Handler<E extends EventName> = (payload: EventPayloads[E]) => void;

/** Removes the handler it was returned for. */
export type Unsubscribe = () => void;

/** The SDK: `window.huddleApps`. */
export interface HuddleApps {
  config(options: ConfigOptions): Promise<ConfigResult>;
  getSupportedJsApis(): Promise<SupportedApis>;
  getMeetingContext(): Promise<MeetingContext>;
  getUserContext(): Promise<UserContext>;
  getMeetingParticipants(): Promise<ParticipantsResult>;
  connect(): Promise<ConnectResult>;
  /** Sends `payload` (any JSON, at most 16 KiB encoded) to every connected instance. */
  postMessage(payload: unknown): Promise<Empty>;
  /** Stores the snapshot late joiners get at `connect` (any JSON, at most 48 KiB encoded). */
  setSharedState(state: unknown): Promise<Empty>;
  sendAppInvitation(options: InvitationOptions): Promise<InvitationResult>;
  sendAppInvitationToAllParticipants(): Promise<InvitationResult>;
  showNotification(options: NotificationOptions): Promise<Empty>;
  expandApp(options: ExpandOptions): Promise<ExpandResult>;
  closeApp(): Promise<Empty>;

  on<E extends EventName>(event: E, handler: Handler<E>): Unsubscribe;
  onParticipantChange(handler: Handler<"onParticipantChange">): Unsubscribe;
  onActiveSpeakerChange(handler: Handler<"onActiveSpeakerChange">): Unsubscribe;
  onMyMediaChange(handler: Handler<"onMyMediaChange">): Unsubscribe;
  onMessage(handler: Handler<"onMessage">): Unsubscribe;
  onConnect(handler: Handler<"onConnect">): Unsubscribe;
  onExpandApp(handler: Handler<"onExpandApp">): Unsubscribe;
}

/**
 * A request, frame → call view. `params` is the call's object argument as given (`{}` for
 * calls without one); `postMessage(payload)` sends `{payload}` and `setSharedState(state)`
 * sends `{state}`.
 */
export interface BridgeRequest {
  huddleApps: 1;
  id: number;
  method: ApiName;
  params: object;
}

/** The error object of a refused call. */
export interface BridgeError {
  code: ErrorCode;
  message: string;
}
