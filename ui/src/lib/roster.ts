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

/** A count as the list shows it: "4,950". */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** Everyone in the session: the stage from `members`, the audience by its count (me included). */
export function peopleCount(members: readonly MemberView[], audienceCount: number): number {
  return members.filter((m) => m.role !== "audience").length + audienceCount;
}

/** "3 people", "1 person", with the audience counted apart when there is one. */
export function countLabel(members: readonly MemberView[], audienceCount: number): string {
  const n = peopleCount(members, audienceCount);
  const people = `${formatCount(n)} ${n === 1 ? "person" : "people"}`;
  return audienceCount > 0 ? `${people} (${formatCount(audienceCount)} in the audience)` : people;
}

/**
 * The raised hands a host or manager answers, mine left out: the stage's in join order, then
 * the audience's in the snapshot's order.
 */
export function handQueue(members: readonly MemberView[], audienceHands: readonly MemberView[]): MemberView[] {
  const stage = members.filter((m) => m.handRaised && !m.isMe).sort((a, b) => a.joinOrder - b.joinOrder);
  const listed = new Set(stage.map((m) => m.id));
  const queue = [...stage];
  for (const m of audienceHands) {
    if (m.isMe || listed.has(m.id)) continue;
    listed.add(m.id);
    queue.push(m);
  }
  return queue;
}

export type ListSection = "hands" | "stage" | "audience";

/** One fixed-height row of the user list. */
export type ListRow =
  | { kind: "heading"; key: string; label: string }
  | { kind: "audience"; key: string; label: string; open: boolean }
  | { kind: "member"; key: string; member: MemberView; section: ListSection }
  | { kind: "loading"; key: string }
  | { kind: "error"; key: string; message: string }
  | { kind: "empty"; key: string; text: string };

export interface ListParts {
  /** Raised hands listed first (hosts and managers only; empty for others). */
  hands: readonly MemberView[];
  /** The stage, in the list's order, without those in `hands`. */
  stage: readonly MemberView[];
  /** The audience group; null when there is none to show. */
  audience: {
    /** Its members (or those matching the search); null while not known yet. */
    count: number | null;
    open: boolean;
    /** The members loaded so far. */
    members: readonly MemberView[];
    /** More pages to load: a loading row ends the group. */
    more: boolean;
    /** Why the last page could not be read. */
    error: string | null;
  } | null;
  /** The search in the box; null when it is empty. */
  search: string | null;
}

/**
 * The user list as rows: raised hands, the stage, then the audience as a group that opens and
 * closes. Headings appear only when there is more than the stage. `audienceStart` is the index
 * of the audience's first member (or of its loading row).
 */
export function listRows(parts: ListParts): { rows: ListRow[]; audienceStart: number } {
  const rows: ListRow[] = [];
  const { hands, stage, audience } = parts;
  const grouped = hands.length > 0 || audience !== null;
  if (hands.length > 0) {
    rows.push({ kind: "heading", key: "heading:hands", label: `Raised hands · ${formatCount(hands.length)}` });
    for (const member of hands) rows.push({ kind: "member", key: `hands:${member.id}`, member, section: "hands" });
  }
  if (grouped && stage.length > 0) {
    // Me when I am in the audience is listed here too, but not counted as on stage.
    const onStage = stage.filter((m) => m.role !== "audience").length;
    rows.push({ kind: "heading", key: "heading:stage", label: `On stage · ${formatCount(onStage)}` });
  }
  for (const member of stage) rows.push({ kind: "member", key: `stage:${member.id}`, member, section: "stage" });
  if (audience !== null) {
    const count = audience.count === null ? "…" : formatCount(audience.count);
    rows.push({ kind: "audience", key: "audience", label: `Audience · ${count}`, open: audience.open });
  }
  const audienceStart = rows.length;
  if (audience?.open) {
    for (const member of audience.members) {
      rows.push({ kind: "member", key: `audience:${member.id}`, member, section: "audience" });
    }
    if (audience.error !== null) rows.push({ kind: "error", key: "error", message: audience.error });
    else if (audience.more) rows.push({ kind: "loading", key: "loading" });
  }
  if (parts.search !== null && rows.length === 0) {
    rows.push({ kind: "empty", key: "empty", text: "No one matches the search" });
  }
  return { rows, audienceStart };
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
  const onStage = state.members.filter((m) => m.role !== "audience");
  // The host's "raised hands first": those with a hand up lead, each group in join order.
  const tiles = state.session.handsFirst
    ? [...onStage.filter((m) => m.handRaised), ...onStage.filter((m) => !m.handRaised)]
    : onStage;
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
