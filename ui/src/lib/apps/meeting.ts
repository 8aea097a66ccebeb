// The meeting as an app sees it, read from the call's snapshots: what the bridge answers
// (BridgeSnapshot) and the changes between two snapshots that become the SDK's events
// (onParticipantChange, onActiveSpeakerChange, onMyMediaChange). Pure.
import type { CallSnapshot, MemberView, RoleView } from "../generated/call";
import type { BridgeSnapshot, MyMedia, NotificationType, ParticipantChange } from "./bridge";
import { who, type Part } from "../named";

/** What an app is told of one member: enough to tell a join, a leave, a rename or a role change. */
export interface RosterEntry {
  name: string;
  role: RoleView;
}

export type Roster = ReadonlyMap<number, RosterEntry>;

export function rosterOf(members: readonly MemberView[]): Roster {
  return new Map(members.map((m) => [m.id, { name: m.name, role: m.role }]));
}

/**
 * The members who joined, left or changed (name or role) from `before` to `after`: joins and
 * changes in the new roster's order, then the leaves with what they were last known as.
 */
export function participantChanges(before: Roster, after: Roster): ParticipantChange[] {
  const out: ParticipantChange[] = [];
  for (const [id, now] of after) {
    const was = before.get(id);
    if (!was) out.push({ status: "joined", participantId: id, displayName: now.name, role: now.role });
    else if (was.name !== now.name || was.role !== now.role) {
      out.push({ status: "changed", participantId: id, displayName: now.name, role: now.role });
    }
  }
  for (const [id, was] of before) {
    if (!after.has(id)) out.push({ status: "left", participantId: id, displayName: was.name, role: was.role });
  }
  return out;
}

/** Who is talking now, in the members' order. */
export function activeSpeakers(members: readonly MemberView[]): number[] {
  return members.filter((m) => m.talking).map((m) => m.id);
}

export function myMedia(s: CallSnapshot): MyMedia {
  const me = s.members.find((m) => m.id === s.me);
  return { audioMuted: me?.audioMuted ?? true, videoOn: me?.videoOn ?? false, sharing: me?.sharing ?? false };
}

export function sameMedia(a: MyMedia, b: MyMedia): boolean {
  return a.audioMuted === b.audioMuted && a.videoOn === b.videoOn && a.sharing === b.sharing;
}

export function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

export function bridgeSnapshot(s: CallSnapshot, clientVersion: string): BridgeSnapshot {
  const me = s.members.find((m) => m.id === s.me);
  return {
    clientVersion,
    sessionName: s.session.name,
    // A session is known by its name on its server; the server's address is not part of it,
    // since members may reach the same server by different addresses.
    meetingId: s.session.name,
    me: { id: s.me, name: me?.name ?? "", role: s.role },
    audienceCount: s.audience.count,
    members: s.members.map((m) => ({
      id: m.id,
      name: m.name,
      role: m.role,
      audioMuted: m.audioMuted,
      videoOn: m.videoOn,
      handRaised: m.handRaised,
    })),
    media: myMedia(s),
  };
}

/** The most of an app's notification the call view shows: a note, not a page. */
export const MAX_TITLE_CHARS = 80;
export const MAX_NOTE_CHARS = 240;

function clip(text: string, max: number): string {
  const chars = [...text.trim()];
  return chars.length > max ? `${chars.slice(0, max - 1).join("")}…` : chars.join("");
}

/**
 * An app's notification as a note of the call view: "Poll (warning): Time is up — 3 votes".
 * The app's words are someone else's text, isolated like a name (lib/named.ts).
 */
export function notificationText(appName: string, type: NotificationType, title: string, message: string): Part[] {
  const t = clip(title, MAX_TITLE_CHARS);
  const m = clip(message, MAX_NOTE_CHARS);
  const parts: Part[] = [who(appName), type === "info" ? ": " : ` (${type}): `];
  if (t) parts.push(who(t));
  if (t && m) parts.push(" — ");
  if (m) parts.push(who(m));
  return parts;
}
