// The call view's end of the SDK bridge for one open app (docs/apps.md §3, §4). The app's
// frame is untrusted: every request it posts is checked here, in the documented order, and
// only then reaches the session; events go back only for what the app asked for at `config`
// and its manifest allows. Pure: the panel hands in how to post to the frame and a host for
// the meeting's data, the session's actions and the time, so it all runs in unit tests.
import { SDK_CALLS, SDK_EVENTS, type ErrorCode } from "../../../apps-sdk/src/types";
import type { RoleView } from "../generated/call";
import type { AppEntry, AppMessageView } from "./types";

export { SDK_CALLS, SDK_EVENTS };
export type SdkCall = (typeof SDK_CALLS)[number];
export type SdkEvent = (typeof SDK_EVENTS)[number];

/** The codes the bridge refuses with: all the SDK's but `timeout`, which the SDK gives itself. */
export type BridgeErrorCode = Exclude<ErrorCode, "timeout">;

export interface BridgeError {
  code: BridgeErrorCode;
  message: string;
}

/** The largest channel message, JSON-encoded, in UTF-8 bytes (16 KiB). */
export const MAX_MESSAGE_BYTES = 16 * 1024;
/** The largest shared state, JSON-encoded, in UTF-8 bytes (48 KiB). */
export const MAX_STATE_BYTES = 48 * 1024;
/** Channel sends allowed per second, sustained. */
export const SEND_RATE = 30;
/** Channel sends allowed at once after a quiet while. */
export const SEND_BURST = 60;
/** How long `connect` waits for the session's `app_opened` before it gives up. */
export const CONNECT_TIMEOUT_MS = 10_000;

export const RUNNING_CONTEXT = "inMeeting";

/** The calls that send on the app's channel, and so share its rate limit. */
const channelSends: ReadonlySet<string> = new Set<SdkCall>([
  "postMessage",
  "setSharedState",
  "sendAppInvitation",
  "sendAppInvitationToAllParticipants",
]);
/** What the audience may not do: it receives, it does not send (the `app_send` grant). */
const notForAudience = channelSends;
const calls: ReadonlySet<string> = new Set<string>(SDK_CALLS);
const known: ReadonlySet<string> = new Set<string>([...SDK_CALLS, ...SDK_EVENTS]);

export interface BridgeMember {
  id: number;
  name: string;
  role: RoleView;
  audioMuted: boolean;
  videoOn: boolean;
  handRaised: boolean;
}

export interface MyMedia {
  audioMuted: boolean;
  videoOn: boolean;
  sharing: boolean;
}

/** What the bridge reads of the meeting, as it is at the moment of a call. */
export interface BridgeSnapshot {
  clientVersion: string;
  sessionName: string;
  meetingId: string;
  me: { id: number; name: string; role: RoleView };
  /** Everyone in the audience (me included when I am in it). */
  audienceCount: number;
  /** The members on the stage and me. */
  members: BridgeMember[];
  media: MyMedia;
}

export type NotificationType = "info" | "warning" | "error";

export interface ParticipantChange {
  status: "joined" | "left" | "changed";
  participantId: number;
  displayName: string;
  role: RoleView;
}

/** What the call view does for the app. A rejection of a promise is the session's refusal. */
export interface AppHost {
  snapshot(): BridgeSnapshot;
  /** Opens the app's channel; the session answers with `app_opened` (see `appOpened`). */
  open(): Promise<void>;
  message(data: unknown): Promise<void>;
  setState(state: unknown): Promise<void>;
  /** Invites these members to open the app, or (null) everyone else. */
  invite(to: number[] | null): Promise<void>;
  notify(type: NotificationType, title: string, message: string): void;
  /** Gives the app the stage (true) or the panel (false). */
  expand(on: boolean): void;
  /** Closes the app, and its channel with it. */
  close(): void;
  /** Milliseconds, for the rate limit. */
  now(): number;
}

export interface FrameAnswer {
  huddleApps: 1;
  /** The request's id; null when the request had none to answer to. */
  id: number | null;
  result?: unknown;
  error?: BridgeError;
}

export interface FrameEvent {
  huddleApps: 1;
  event: SdkEvent;
  payload: unknown;
}

export type ToFrame = FrameAnswer | FrameEvent;

/** A channel message as the app sees it. */
export interface AppMessage {
  seq: number;
  from: number;
  fromMe: boolean;
  payload: unknown;
}

/** A refusal with its code; anything else thrown while answering is `failed`. */
class Refusal extends Error {
  readonly code: BridgeErrorCode;
  constructor(code: BridgeErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** What the session said when it refused: its person-readable message, if it gave one. */
/** The code of a host action's failure: the session's rate limit keeps its own, so an app can back off. */
export function failureCode(err: unknown): BridgeErrorCode {
  const kind = typeof err === "object" && err !== null && "kind" in err ? (err as { kind: unknown }).kind : null;
  return kind === "rate_limited" ? "rate_limited" : "failed";
}

export function failureMessage(err: unknown): string {
  if (typeof err === "object" && err !== null && "message" in err) {
    const message = (err as { message: unknown }).message;
    if (typeof message === "string" && message !== "") return message;
  }
  if (typeof err === "string" && err !== "") return err;
  return "The session refused the request.";
}

const encoder = new TextEncoder();

/** The UTF-8 length of a string, in bytes. */
export function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

/** A name from the frame, short enough to quote in an error message. */
function quoted(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `value` as JSON text, or null when JSON cannot carry it (undefined, a cycle, a BigInt). */
function encode(value: unknown): string | null {
  if (value === undefined) return null;
  try {
    const text = JSON.stringify(value);
    return typeof text === "string" ? text : null;
  } catch {
    return null;
  }
}

interface Request {
  id: number;
  method: string;
  params: unknown;
}

/** The request in `data`, or why it is none (with the id to answer, when there is one). */
function parseRequest(data: unknown): Request | { id: number | null } {
  if (!isRecord(data)) return { id: null };
  const id = typeof data.id === "number" && Number.isFinite(data.id) ? data.id : null;
  if (data.huddleApps !== 1 || id === null || typeof data.method !== "string") return { id };
  return { id, method: data.method, params: data.params };
}

/** A call's parameters once checked: what the call needs of them. */
type Checked =
  | { method: "config"; capabilities: string[] }
  | { method: "postMessage"; text: string }
  | { method: "setSharedState"; text: string }
  | { method: "sendAppInvitation"; ids: number[] }
  | { method: "showNotification"; type: NotificationType; title: string; message: string }
  | { method: "expandApp"; expand: boolean }
  | { method: Exclude<SdkCall, "config" | "postMessage" | "setSharedState" | "sendAppInvitation" | "showNotification" | "expandApp"> };

const notificationTypes: ReadonlySet<string> = new Set<NotificationType>(["info", "warning", "error"]);

function invalid(message: string): Refusal {
  return new Refusal("invalid_params", message);
}

/** Checks the parameters' shape (the `invalid_params` step) and picks out what is needed. */
function checkParams(method: SdkCall, params: unknown): Checked {
  // No parameters at all reads as empty ones; anything else must be an object.
  const p = params === undefined ? {} : params;
  if (!isRecord(p)) throw invalid(`The parameters of ${method} must be an object.`);
  switch (method) {
    case "config": {
      const caps = p.capabilities;
      if (!Array.isArray(caps) || !caps.every((c) => typeof c === "string")) {
        throw invalid("config takes {capabilities}: a list of the names of SDK calls and events.");
      }
      return { method, capabilities: [...new Set(caps as string[])] };
    }
    case "postMessage": {
      const text = encode(p.payload);
      if (text === null) throw invalid("postMessage takes {payload}: a value JSON can carry.");
      return { method, text };
    }
    case "setSharedState": {
      const text = encode(p.state);
      if (text === null) throw invalid("setSharedState takes {state}: a value JSON can carry.");
      return { method, text };
    }
    case "sendAppInvitation": {
      const ids = p.participantIds;
      if (!Array.isArray(ids) || ids.length === 0 || !ids.every((i) => Number.isSafeInteger(i) && (i as number) >= 0)) {
        throw invalid("sendAppInvitation takes {participantIds}: a list of one or more participant ids.");
      }
      return { method, ids: [...new Set(ids as number[])] };
    }
    case "showNotification": {
      if (typeof p.type !== "string" || !notificationTypes.has(p.type) || typeof p.title !== "string" || typeof p.message !== "string") {
        throw invalid('showNotification takes {type, title, message}: type "info", "warning" or "error", and two strings.');
      }
      return { method, type: p.type as NotificationType, title: p.title, message: p.message };
    }
    case "expandApp": {
      if (p.action !== "expand" && p.action !== "collapse") throw invalid('expandApp takes {action}: "expand" or "collapse".');
      return { method, expand: p.action === "expand" };
    }
    default:
      return { method };
  }
}

interface PendingConnect {
  promise: Promise<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  timer: ReturnType<typeof setTimeout>;
}

/** Runs `f`, turning a synchronous throw into a rejection. */
function attempt<T>(f: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** The bridge for one open instance of an app. */
export class AppBridge {
  readonly app: AppEntry;
  readonly #post: (message: ToFrame) => void;
  readonly #host: AppHost;
  readonly #manifest: ReadonlySet<string>;
  /** What the app named at its last successful `config`. */
  #declared: ReadonlySet<string> | null = null;
  #granted: ReadonlySet<string> = new Set();
  #connected = false;
  #opened = false;
  #pending: PendingConnect | null = null;
  #tokens = SEND_BURST;
  #refilledAt: number | null = null;
  #disposed = false;

  constructor(app: AppEntry, post: (message: ToFrame) => void, host: AppHost) {
    this.app = app;
    this.#post = post;
    this.#host = host;
    this.#manifest = new Set(app.capabilities);
  }

  /** Whether the session has answered a `connect`: the app is on its channel. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Whether the channel was asked to open, so closing the app must close it too. */
  get opened(): boolean {
    return this.#opened;
  }

  /** What the last `config` granted. */
  get granted(): ReadonlySet<string> {
    return this.#granted;
  }

  /**
   * Answers one request posted by the frame. Never throws: whatever the frame sent gets an
   * answer (an error one for a malformed request), and a refusal of the session is `failed`.
   */
  async handle(data: unknown): Promise<void> {
    if (this.#disposed) return;
    let id: number | null = null;
    try {
      const req = parseRequest(data);
      if (!("method" in req)) {
        this.#answer(req.id, undefined, {
          code: "invalid_request",
          message: "A request is {huddleApps: 1, id: <number>, method: <name>, params: {…}}.",
        });
        return;
      }
      id = req.id;
      // Everything up to the rate limit is decided now, before any await: the checks see
      // the requests in the order the frame sent them.
      const checked = this.#admit(req.method, req.params);
      const result = await this.#perform(checked);
      this.#answer(id, result);
      if (checked.method === "closeApp" && !this.#disposed) this.#host.close();
    } catch (err) {
      const error: BridgeError =
        err instanceof Refusal ? { code: err.code, message: err.message } : { code: failureCode(err), message: failureMessage(err) };
      this.#answer(id, undefined, error);
    }
  }

  /** The checks of docs/apps.md §3 from `unknown_api` to `rate_limited`, in that order. */
  #admit(method: string, params: unknown): Checked {
    if (!calls.has(method)) throw new Refusal("unknown_api", `${quoted(method)} is not a call of the Huddle Apps SDK.`);
    const call = method as SdkCall;
    if (call !== "config") {
      if (this.#declared === null) throw new Refusal("not_configured", "Call config before any other call.");
      if (!this.#declared.has(call)) {
        throw new Refusal("not_declared", `${quoted(call)} was not among the capabilities given to config.`);
      }
      if (!this.#manifest.has(call)) throw new Refusal("not_permitted", `The app's manifest does not list ${quoted(call)}.`);
      if (notForAudience.has(call) && this.#host.snapshot().me.role === "audience") {
        throw new Refusal("not_permitted", `The audience may not use ${quoted(call)}; the host can make you a participant.`);
      }
    }
    const checked = checkParams(call, params);
    if ((call === "postMessage" || call === "setSharedState") && !this.#connected) {
      throw new Refusal("not_connected", `Call connect before ${call}.`);
    }
    if (checked.method === "postMessage") this.#limit(checked.text, MAX_MESSAGE_BYTES, "message");
    if (checked.method === "setSharedState") this.#limit(checked.text, MAX_STATE_BYTES, "state");
    if (channelSends.has(call) && !this.#take()) {
      throw new Refusal("rate_limited", `Too many sends: at most ${SEND_RATE} a second (bursts of ${SEND_BURST}).`);
    }
    return checked;
  }

  #limit(text: string, max: number, what: string): void {
    const bytes = utf8Bytes(text);
    if (bytes > max) throw new Refusal("too_large", `The ${what} is ${bytes} bytes as JSON; at most ${max} are allowed.`);
  }

  /** Takes one send from the token bucket: SEND_RATE a second, up to SEND_BURST saved. */
  #take(): boolean {
    const now = this.#host.now();
    if (this.#refilledAt !== null) {
      const elapsed = Math.max(0, now - this.#refilledAt);
      this.#tokens = Math.min(SEND_BURST, this.#tokens + (elapsed * SEND_RATE) / 1000);
    }
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  async #perform(c: Checked): Promise<unknown> {
    switch (c.method) {
      case "config":
        return this.#config(c.capabilities);
      case "getSupportedJsApis":
        return { apis: [...SDK_CALLS, ...SDK_EVENTS] };
      case "getMeetingContext": {
        const s = this.#host.snapshot();
        return { sessionName: s.sessionName, meetingId: s.meetingId, role: s.me.role, audienceCount: s.audienceCount };
      }
      case "getUserContext": {
        const s = this.#host.snapshot();
        return {
          participantId: s.me.id,
          displayName: s.me.name,
          role: s.me.role,
          audioMuted: s.media.audioMuted,
          videoOn: s.media.videoOn,
        };
      }
      case "getMeetingParticipants":
        return {
          participants: this.#host.snapshot().members.map((m) => ({
            participantId: m.id,
            displayName: m.name,
            role: m.role,
            audioMuted: m.audioMuted,
            videoOn: m.videoOn,
            handRaised: m.handRaised,
          })),
        };
      case "connect":
        return this.#connect();
      case "postMessage":
        // Sent as parsed JSON: what every instance receives is what JSON carries, not what
        // the frame's structured clone happened to hold (a Date, a Map).
        await this.#host.message(JSON.parse(c.text));
        return {};
      case "setSharedState":
        await this.#host.setState(JSON.parse(c.text));
        return {};
      case "sendAppInvitation": {
        const me = this.#host.snapshot().me.id;
        const ids = c.ids.filter((i) => i !== me);
        if (ids.length > 0) await this.#host.invite(ids);
        return { invited: ids.length };
      }
      case "sendAppInvitationToAllParticipants": {
        const s = this.#host.snapshot();
        const others = s.members.filter((m) => m.id !== s.me.id && m.role !== "audience").length;
        const audience = s.audienceCount - (s.me.role === "audience" ? 1 : 0);
        await this.#host.invite(null);
        return { invited: others + Math.max(0, audience) };
      }
      case "showNotification":
        this.#host.notify(c.type, c.title, c.message);
        return {};
      case "expandApp":
        this.#host.expand(c.expand);
        return { expanded: c.expand };
      case "closeApp":
        // Closed by `handle` once the answer is out: the frame goes with it.
        return {};
    }
  }

  /** Grants what was asked for, the manifest allows and this version knows; a new config replaces the grant. */
  #config(requested: string[]) {
    const granted = requested.filter((name) => known.has(name) && this.#manifest.has(name));
    const unsupported = requested.filter((name) => !granted.includes(name));
    const s = this.#host.snapshot();
    this.#declared = new Set(requested);
    this.#granted = new Set(granted);
    return { runningContext: RUNNING_CONTEXT, clientVersion: s.clientVersion, capabilities: granted, unsupportedApis: unsupported };
  }

  /** Opens the channel once for however many `connect`s wait; settled by `appOpened` or the timeout. */
  #connect(): Promise<unknown> {
    if (this.#pending) return this.#pending.promise;
    let resolve!: (value: unknown) => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const timer = setTimeout(() => {
      this.#settle(pending, () =>
        reject(new Refusal("failed", "The session did not answer in time; check the connection and connect again.")),
      );
    }, CONNECT_TIMEOUT_MS);
    const pending: PendingConnect = { promise, resolve, reject, timer };
    this.#pending = pending;
    this.#opened = true;
    attempt(() => this.#host.open()).catch((err) => {
      this.#settle(pending, () => reject(new Refusal("failed", failureMessage(err))));
    });
    return promise;
  }

  /** Ends a waiting `connect`, if it is still the one waiting. */
  #settle(pending: PendingConnect, finish: () => void): void {
    if (this.#pending !== pending) return;
    this.#pending = null;
    clearTimeout(pending.timer);
    finish();
  }

  #message(m: AppMessageView, me: number): AppMessage {
    return { seq: m.seq, from: m.from, fromMe: m.from === me, payload: m.data };
  }

  /** The session's `app_opened`: the app is on its channel, with the snapshot and the recent messages. */
  appOpened(state: unknown, recent: readonly AppMessageView[]): void {
    if (this.#disposed) return;
    this.#connected = true;
    const me = this.#host.snapshot().me.id;
    const payload = { state: state ?? null, recent: recent.map((m) => this.#message(m, me)) };
    const pending = this.#pending;
    if (pending) this.#settle(pending, () => pending.resolve(payload));
    this.#emit("onConnect", payload);
  }

  /** One message of the app's channel, mine included. */
  appMessage(m: AppMessageView): void {
    if (this.#disposed) return;
    this.#emit("onMessage", this.#message(m, this.#host.snapshot().me.id));
  }

  participantsChanged(participants: readonly ParticipantChange[]): void {
    if (participants.length > 0) this.#emit("onParticipantChange", { participants });
  }

  activeSpeakersChanged(participantIds: readonly number[]): void {
    this.#emit("onActiveSpeakerChange", { participantIds });
  }

  myMediaChanged(media: MyMedia): void {
    this.#emit("onMyMediaChange", { audioMuted: media.audioMuted, videoOn: media.videoOn, sharing: media.sharing });
  }

  expandChanged(expanded: boolean): void {
    this.#emit("onExpandApp", { expanded });
  }

  /** Stops answering and sending: the frame is gone. A waiting `connect` ends unanswered. */
  dispose(): void {
    this.#disposed = true;
    const pending = this.#pending;
    if (pending) this.#settle(pending, () => pending.reject(new Refusal("failed", "The app was closed.")));
  }

  #emit(event: SdkEvent, payload: unknown): void {
    if (this.#disposed || !this.#granted.has(event)) return;
    this.#send({ huddleApps: 1, event, payload });
  }

  #answer(id: number | null, result: unknown, error?: BridgeError): void {
    if (this.#disposed) return;
    this.#send(error ? { huddleApps: 1, id, error } : { huddleApps: 1, id, result });
  }

  #send(message: ToFrame): void {
    try {
      this.#post(message);
    } catch {
      // A frame that went away mid-answer has nobody left to tell.
    }
  }
}
