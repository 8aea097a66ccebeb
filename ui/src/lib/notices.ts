// Sentences for notices and for the closing screen. Names are shown as text (Svelte escapes
// them), never as markup, and each is marked so that the view isolates it (lib/named.ts).
import type { EndView, NoticeView, ReactionView, RoleView } from "./generated/call";
import { who, type Part } from "./named";

export const reactionEmoji: Record<ReactionView, string> = {
  thumbs_up: "👍",
  clap: "👏",
  heart: "❤️",
  joy: "😂",
  surprised: "😮",
  tada: "🎉",
};

export const reactionLabel: Record<ReactionView, string> = {
  thumbs_up: "Thumbs up",
  clap: "Clap",
  heart: "Heart",
  joy: "Laugh",
  surprised: "Surprised",
  tada: "Celebrate",
};

export const roleLabel: Record<RoleView, string> = {
  host: "Host",
  manager: "Manager",
  participant: "Participant",
  audience: "Audience",
};

export function noticeText(n: NoticeView): Part[] {
  switch (n.kind) {
    case "joined":
      return [who(n.name), " joined"];
    case "left":
      switch (n.reason) {
        case "removed":
          return n.by ? [who(n.name), " was removed by ", who(n.by)] : [who(n.name), " was removed"];
        case "connection_lost":
          return [who(n.name), " lost their connection"];
        default:
          return [who(n.name), " left"];
      }
    case "you_were_muted":
      return [who(n.by), " muted you"];
    case "your_video_stopped":
      return [who(n.by), " turned your camera off"];
    case "unmute_requested":
      return [who(n.by), " asks you to unmute"];
    case "you_were_renamed":
      return [who(n.by), " renamed you to ", who(n.name)];
    case "your_hand_lowered":
      return [who(n.by), " lowered your hand"];
    case "your_role_changed":
      return [
        who(n.by),
        ` made you ${n.role === "audience" ? "part of the audience" : `a ${roleLabel[n.role].toLowerCase()}`}`,
      ];
    case "your_hearing_changed":
      return n.deaf
        ? [who(n.by), " deafened you: you hear nobody until you or a host undo it"]
        : [who(n.by), " let you hear the session again"];
    case "waiter_joined":
      return [who(n.name), " is waiting in the lobby to be let in"];
    case "you_were_removed":
      return [who(n.by), " removed you from the session"];
    case "session_ended":
      return [endText(n.reason).title];
    case "reaction":
      return [who(n.name), ` ${reactionEmoji[n.reaction]}`];
  }
}

/** Whether a notice asks something of the user (it stays until dismissed). */
export function noticeIsRequest(n: NoticeView): boolean {
  return n.kind === "unmute_requested";
}

export interface EndText {
  title: string;
  detail: Part[];
}

export function endText(r: EndView): EndText {
  switch (r.kind) {
    case "left":
      return { title: "You left the session", detail: ["You can join again from the pre-join screen."] };
    case "removed":
      return {
        title: "You were removed from the session",
        detail: r.by ? [who(r.by), " removed you."] : ["A host or manager removed you."],
      };
    case "ended_by_host":
      return {
        title: "The host ended the session",
        detail: r.by ? [who(r.by), " ended the session for everyone."] : ["The session was ended for everyone."],
      };
    case "idle_timeout":
      return { title: "The session ended", detail: ["The host was alone for too long, so the session closed."] };
    case "empty":
      return { title: "The session ended", detail: ["Everyone left."] };
    case "server_shutdown":
      return { title: "The server shut down", detail: ["The session's server stopped, so the session ended."] };
    case "resume_refused":
      return { title: "You were disconnected", detail: [`The server would not take you back: ${r.detail}`] };
    case "connection_lost":
      return { title: "You were disconnected", detail: [`The connection could not be restored (${r.detail}).`] };
  }
}
