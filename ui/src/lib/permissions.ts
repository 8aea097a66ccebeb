// What the UI offers to whom: the permission table of SPEC §3, mirrored from the server's
// grants so the UI only shows what the user may do. The server still checks every request.
import type { MemberView, RoleView, SessionView } from "./generated/call";

export interface Grants {
  publish: boolean;
  shareScreen: boolean;
  chat: boolean;
  /** Host and manager controls over others and the session. */
  admin: boolean;
  manageRoles: boolean;
  transferHost: boolean;
  endSession: boolean;
}

export function grants(role: RoleView, session: Pick<SessionView, "shareLocked" | "audienceChat">): Grants {
  const host = role === "host";
  const admin = host || role === "manager";
  const publish = role !== "audience";
  return {
    publish,
    shareScreen: publish && (admin || !session.shareLocked),
    chat: publish || session.audienceChat,
    admin,
    manageRoles: host,
    transferHost: host,
    endSession: host,
  };
}

/** The per-user actions of the host controls, in the order the menu lists them. */
export type MemberAction =
  | "mute"
  | "ask_unmute"
  | "stop_video"
  | "lower_hand"
  | "spotlight"
  | "unspotlight"
  | "rename"
  | "promote"
  | "demote"
  | "make_manager"
  | "revoke_manager"
  | "transfer_host"
  | "deafen"
  | "undeafen"
  | "remove";

/**
 * The actions `me` may take on `target` right now: the ones the role allows and the target's
 * state makes meaningful (no "mute" for someone already muted). Empty for a participant.
 */
export function memberActions(me: MemberView, target: MemberView, session: SessionView): MemberAction[] {
  const g = grants(me.role, session);
  if (!g.admin || target.id === me.id) return [];
  // A manager has no power over the host.
  if (me.role !== "host" && target.role === "host") return [];
  const out: MemberAction[] = [];
  if (!target.audioMuted) out.push("mute");
  else out.push("ask_unmute");
  if (target.videoOn) out.push("stop_video");
  if (target.handRaised) out.push("lower_hand");
  out.push(target.deafened ? "undeafen" : "deafen");
  out.push(session.spotlight === target.id ? "unspotlight" : "spotlight");
  out.push("rename");
  if (target.role === "audience") out.push("promote");
  if (target.role === "participant") out.push("demote");
  if (g.manageRoles && target.role === "participant") out.push("make_manager");
  if (g.manageRoles && target.role === "manager") out.push("revoke_manager");
  if (g.transferHost && target.role !== "audience") out.push("transfer_host");
  out.push("remove");
  return out;
}

export const actionLabels: Record<MemberAction, string> = {
  mute: "Mute",
  ask_unmute: "Ask to unmute",
  stop_video: "Stop video",
  lower_hand: "Lower hand",
  spotlight: "Spotlight for everyone",
  unspotlight: "Remove spotlight",
  rename: "Rename",
  promote: "Make participant",
  demote: "Move to audience",
  make_manager: "Make manager",
  revoke_manager: "Revoke manager",
  transfer_host: "Make host",
  deafen: "Deafen (hears nobody)",
  undeafen: "Let them hear again",
  remove: "Remove",
};

/** Actions that need a confirmation before they are sent. */
export function needsConfirm(action: MemberAction): boolean {
  return action === "remove" || action === "transfer_host";
}
