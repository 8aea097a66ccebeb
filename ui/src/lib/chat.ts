// Chat held by the call view: merged by sequence number, counted when unread.
import type { ChatView, MemberView } from "./generated/call";
import { who, type Part } from "./named";

/** Merges messages into a list ordered by seq, without duplicates (a refill may repeat). */
export function mergeChat(list: readonly ChatView[], incoming: readonly ChatView[]): ChatView[] {
  const bySeq = new Map<number, ChatView>();
  for (const m of list) bySeq.set(m.seq, m);
  for (const m of incoming) if (!bySeq.has(m.seq)) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/**
 * Messages not yet seen: newer than the last one seen while the panel was open, and not
 * sent by me.
 */
export function unreadCount(list: readonly ChatView[], me: number, lastSeen: number): number {
  let n = 0;
  for (const m of list) if (m.seq > lastSeen && m.from !== me) n++;
  return n;
}

/** The highest seq in the list (0 for none): what "seen" moves to when the panel is open. */
export function lastSeq(list: readonly ChatView[]): number {
  return list.length === 0 ? 0 : list[list.length - 1].seq;
}

/** "Ann to everyone", "Ann to you (privately)", "You to Bo (privately)"; names marked. */
export function chatHeading(m: ChatView, me: number, members: readonly MemberView[]): Part[] {
  const from = m.from === me ? "You" : who(m.fromName);
  if (m.to === null) return [from, " to everyone"];
  if (m.to === me) return [from, " to you (privately)"];
  const to = members.find((x) => x.id === m.to)?.name;
  return [from, " to ", to === undefined ? "someone who left" : who(to), " (privately)"];
}

export const MAX_CHAT_CHARS = 4000;

/** Why a draft cannot be sent, or null. */
export function draftError(text: string): string | null {
  if (text.trim().length === 0) return "Write a message first.";
  if ([...text].length > MAX_CHAT_CHARS) return `Messages are at most ${MAX_CHAT_CHARS} characters.`;
  return null;
}
