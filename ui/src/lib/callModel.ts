// The call view's state, folded from the events of the call channel. Pure: no IO, no timers;
// the component owns time and passes `now` in.
import { mergeChat } from "./chat";
import type { Part } from "./named";
import { noticeIsRequest, noticeText } from "./notices";
import type {
  CallEvent,
  CameraView,
  CallSnapshot,
  ChatView,
  EndView,
  JoinedView,
  LinkView,
  MediaView,
  QualityView,
  ReactionView,
} from "./generated/call";

export interface Toast {
  id: number;
  /** What it says, names marked for isolation. */
  text: Part[];
  /** Asks something of the user; stays until dismissed. */
  request: boolean;
  /** When it goes away (ms since epoch); null for requests. */
  until: number | null;
}

export interface ShownReaction {
  member: number;
  reaction: ReactionView;
  until: number;
}

export interface CallModel {
  state: CallSnapshot;
  chat: ChatView[];
  toasts: Toast[];
  reactions: ShownReaction[];
  link: LinkView;
  /** The media link: audio and video flow only while it is connected. */
  media: MediaView;
  /** My camera in the call (its frames feed my own tile). */
  camera: CameraView;
  /** Connection grade by member id; a member without one has sent too little to tell. */
  quality: Record<number, QualityView>;
  ended: EndView | null;
  nextToast: number;
  /** The link that leads others to this session. */
  inviteLink: string;
}

export const TOAST_MS = 5000;
export const REACTION_MS = 4000;
export const MAX_TOASTS = 4;

export function initialModel(joined: JoinedView): CallModel {
  return {
    state: joined.state,
    chat: mergeChat([], joined.chat),
    toasts: [],
    reactions: [],
    link: joined.state.link,
    media: joined.media,
    camera: { kind: "off" },
    quality: {},
    ended: null,
    nextToast: 1,
    inviteLink: joined.inviteLink,
  };
}

function withToast(m: CallModel, text: Part[], request: boolean, now: number): CallModel {
  const toast: Toast = { id: m.nextToast, text, request, until: request ? null : now + TOAST_MS };
  // Oldest plain toasts go first when there are too many; requests stay.
  let toasts = [...m.toasts, toast];
  while (toasts.length > MAX_TOASTS) {
    const i = toasts.findIndex((t) => !t.request);
    if (i < 0) break;
    toasts = toasts.filter((_, j) => j !== i);
  }
  return { ...m, toasts, nextToast: m.nextToast + 1 };
}

export function applyEvent(m: CallModel, e: CallEvent, now: number): CallModel {
  if (m.ended) return m; // nothing after the end changes the closing screen
  switch (e.type) {
    case "state":
      return { ...m, state: e.state, link: e.state.link === "closed" ? m.link : e.state.link };
    case "chat":
      return { ...m, chat: mergeChat(m.chat, [e.message]) };
    case "notice": {
      const n = e.notice;
      if (n.kind === "reaction") {
        const reactions = [
          ...m.reactions.filter((r) => r.member !== n.id),
          { member: n.id, reaction: n.reaction, until: now + REACTION_MS },
        ];
        return { ...m, reactions };
      }
      // The closing screen says this; a toast would repeat it.
      if (n.kind === "session_ended" || n.kind === "you_were_removed") return m;
      return withToast(m, noticeText(n), noticeIsRequest(n), now);
    }
    case "link":
      if (e.link === "connected" && m.link === "reconnecting") {
        return withToast({ ...m, link: "connected" }, ["Reconnected"], false, now);
      }
      return { ...m, link: e.link };
    case "media":
      return { ...m, media: e.media };
    case "camera":
      return { ...m, camera: e.camera };
    case "share_stopped":
      return withToast(m, [`Screen sharing stopped. ${e.error.message}`], false, now);
    case "quality":
      return { ...m, quality: Object.fromEntries(e.members.map((q) => [q.id, q.quality])) };
    case "closed":
      return { ...m, ended: e.reason, link: "closed" };
    case "waiting":
      // Only while joining (the store shows it on the pre-join screen); a member has no lobby.
      return m;
    case "app_opened":
    case "app_message":
    case "app_invitation":
      // The apps store takes these (appsStore.svelte.ts); the call model has no part in them.
      return m;
  }
}

/** What the call view says about the media link, or null when it works. */
export function mediaNote(media: MediaView): string | null {
  switch (media.kind) {
    case "connected":
    case "closed":
      return null;
    case "connecting":
      return "Connecting audio and video…";
    case "reconnecting":
      return "Audio and video dropped; reconnecting…";
    case "unavailable":
      return `No audio or video in this call: ${media.detail}`;
  }
}

export const qualityLabel: Record<QualityView, string> = {
  good: "Connection good",
  fair: "Connection fair: some video or sound is lost",
  poor: "Connection poor: much video or sound is lost",
};

/** What my own tile says about my camera (the app's words for the failure), or null. */
export function cameraNote(camera: CameraView): string | null {
  return camera.kind === "failed" ? camera.error.message : null;
}

/** A note of this app's own (not from the call), shown like any other. */
export function say(m: CallModel, text: string | Part[], now: number): CallModel {
  return withToast(m, typeof text === "string" ? [text] : text, false, now);
}

/** Drops toasts and reactions whose time is up. */
export function expire(m: CallModel, now: number): CallModel {
  const toasts = m.toasts.filter((t) => t.until === null || t.until > now);
  const reactions = m.reactions.filter((r) => r.until > now);
  if (toasts.length === m.toasts.length && reactions.length === m.reactions.length) return m;
  return { ...m, toasts, reactions };
}

export function dismiss(m: CallModel, id: number): CallModel {
  return { ...m, toasts: m.toasts.filter((t) => t.id !== id) };
}

/** The user's own member entry. */
export function myself(m: CallModel) {
  return m.state.members.find((x) => x.id === m.state.me) ?? null;
}
