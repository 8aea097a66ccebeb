// Ordering and picking members for the user list and the video grid.
import type { CallSnapshot, MemberView } from "./generated/call";

const roleRank: Record<MemberView["role"], number> = { host: 0, manager: 1, participant: 2, audience: 3 };

/**
 * The user list's order: me first, then raised hands (longest-raised unknown, so by join
 * order), then host, managers, participants, audience; ties by join order.
 */
export function sortForList(members: readonly MemberView[]): MemberView[] {
  return [...members].sort((a, b) => {
    if (a.isMe !== b.isMe) return a.isMe ? -1 : 1;
    if (a.handRaised !== b.handRaised) return a.handRaised ? -1 : 1;
    if (roleRank[a.role] !== roleRank[b.role]) return roleRank[a.role] - roleRank[b.role];
    return a.joinOrder - b.joinOrder;
  });
}

/** "3 people", "1 person", with the audience counted apart when there is one. */
export function countLabel(members: readonly MemberView[]): string {
  const audience = members.filter((m) => m.role === "audience").length;
  const n = members.length;
  const people = `${n} ${n === 1 ? "person" : "people"}`;
  return audience > 0 ? `${people} (${audience} in the audience)` : people;
}

/**
 * Who is speaking: a talking member who is not muted, preferring whoever was highlighted
 * before so the highlight does not flicker between two people talking at once.
 */
export function activeSpeaker(members: readonly MemberView[], previous: number | null): number | null {
  const talking = members.filter((m) => m.talking && !m.audioMuted);
  if (talking.length === 0) return null;
  if (previous !== null && talking.some((m) => m.id === previous)) return previous;
  return talking[0].id;
}

export type Layout = "gallery" | "speaker";

export interface Stage {
  /** The big tile in speaker view, or null in gallery view. */
  main: MemberView | null;
  /** The other tiles (all of them in gallery view). */
  others: MemberView[];
  /** Why `main` is there. */
  reason: "pinned" | "spotlight" | "speaker" | "first" | null;
}

/**
 * Which tiles go where. The audience has no tile. A pin (mine only) wins over the host's
 * spotlight, which wins over the active speaker. A spotlight switches everyone to speaker
 * view, as the host intends; a pin does so for me.
 */
export function stage(
  state: Pick<CallSnapshot, "members" | "session">,
  layout: Layout,
  pinned: number | null,
  speaker: number | null,
): Stage {
  const tiles = state.members.filter((m) => m.role !== "audience");
  const find = (id: number | null) => (id === null ? undefined : tiles.find((m) => m.id === id));
  const pin = find(pinned);
  const spot = find(state.session.spotlight ?? null);
  if (layout === "gallery" && !pin && !spot) return { main: null, others: tiles, reason: null };
  let main: MemberView | undefined;
  let reason: Stage["reason"];
  if (pin) [main, reason] = [pin, "pinned"];
  else if (spot) [main, reason] = [spot, "spotlight"];
  else if (find(speaker)) [main, reason] = [find(speaker), "speaker"];
  else {
    // Nobody talks: show the first other person, else myself.
    main = tiles.find((m) => !m.isMe) ?? tiles[0];
    reason = main ? "first" : null;
  }
  if (!main) return { main: null, others: [], reason: null };
  const mainId = main.id;
  return { main, others: tiles.filter((m) => m.id !== mainId), reason };
}

/** Grid columns for `n` tiles in a box of the given aspect, so tiles stay as large as possible. */
export function gridColumns(n: number, width: number, height: number, tileAspect = 16 / 9): number {
  if (n <= 1 || width <= 0 || height <= 0) return 1;
  let best = 1;
  let bestArea = 0;
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const w = Math.min(width / cols, (height / rows) * tileAspect);
    const area = w * (w / tileAspect);
    if (area > bestArea) {
      bestArea = area;
      best = cols;
    }
  }
  return best;
}

export function initials(name: string): string {
  // Format characters (bidi controls, zero-width ones) are invisible: never an initial.
  const words = name.replace(/\p{Cf}/gu, "").trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return "?";
  const first = [...words[0]][0] ?? "";
  const last = words.length > 1 ? ([...words[words.length - 1]][0] ?? "") : "";
  return (first + last).toUpperCase();
}

/**
 * Tile sizes with the most important first — pinned, then spotlighted, then the active
 * speaker, then the rest by size — so that a server short of bandwidth serves them first.
 */
export function byImportance<T extends { participant: number; width: number; height: number }>(
  sizes: readonly T[],
  focus: { pinned: number | null; spotlight: number | null; speaker: number | null },
): T[] {
  const rank = (id: number) =>
    id === focus.pinned ? 0 : id === focus.spotlight ? 1 : id === focus.speaker ? 2 : 3;
  return [...sizes].sort(
    (a, b) =>
      rank(a.participant) - rank(b.participant) ||
      b.width * b.height - a.width * a.height ||
      a.participant - b.participant,
  );
}

/** A tile of the video area: someone's camera, or someone's shared screen. */
export interface StageTile {
  member: MemberView;
  screen: boolean;
}

export interface TileStage {
  /** The large tile, or null in gallery view without shares. */
  main: StageTile | null;
  others: StageTile[];
}

/**
 * The video area with screen shares. A shared screen takes the large tile (the earliest
 * joiner's when several share) unless I pinned someone; other screens and every camera tile
 * go beside it. My own share is shown too, so I see what the others see. Without shares,
 * as {@link stage}.
 */
export function tileStage(
  state: Pick<CallSnapshot, "members" | "session">,
  layout: Layout,
  pinned: number | null,
  speaker: number | null,
): TileStage {
  const shares = state.members
    .filter((m) => m.sharing && m.role !== "audience")
    .sort((a, b) => a.joinOrder - b.joinOrder)
    .map((member) => ({ member, screen: true }));
  const camera = (member: MemberView): StageTile => ({ member, screen: false });
  const base = stage(state, layout, pinned, speaker);
  if (shares.length === 0 || base.reason === "pinned") {
    return { main: base.main && camera(base.main), others: [...shares, ...base.others.map(camera)] };
  }
  const cameras = state.members.filter((m) => m.role !== "audience").map(camera);
  return { main: shares[0], others: [...shares.slice(1), ...cameras] };
}

/**
 * The stage without the camera tiles of others who have their camera off (a local view
 * option): my own tile, shared screens and the large tile stay. Also says how many are hidden.
 */
export function withoutNoVideo(view: TileStage): { view: TileStage; hidden: number } {
  const keep = (t: StageTile) => t.screen || t.member.isMe || t.member.videoOn;
  const others = view.others.filter(keep);
  return { view: { main: view.main, others }, hidden: view.others.length - others.length };
}
