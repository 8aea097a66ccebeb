/*
 * The whiteboard's model: strokes, undo and clear as carried on the app's channel.
 *
 * Wire format (payloads of postMessage / onMessage):
 *
 *   {"t":"stroke","id":"<random id>","color":"#rrggbb","width":n,"points":[[x,y],...]}
 *       A finished stroke, sent once when the pointer lifts. x and y are fractions (0..1) of
 *       the board's width and height, rounded to 4 decimals; `width` is the line width in
 *       thousandths of the board's width (the app draws 4 and 12; receivers take above 0 up
 *       to 100). At most 400 points: longer strokes are simplified before sending, which keeps
 *       a message under 8 KiB (receivers take up to 1200). `id` is 1-64 characters of
 *       A-Z a-z 0-9 _ -. The author is the message's `from`: a stroke names none.
 *   {"t":"undo","id":"<stroke id>"}
 *       Removes that stroke. Applied only when `from` drew it or is a host or manager.
 *   {"t":"clear"}
 *       Removes every stroke. Applied only when `from` is a host or manager.
 *
 * Shared state (setSharedState), written by every member who may send after each change:
 *
 *   {"strokes":[{"id","by","color","width","points"},...],"cleared":<seq of the last clear>|null}
 *
 * oldest stroke first, `by` the author's participant id; when it would exceed 48 KiB as JSON,
 * only the newest strokes that fit are kept. A late joiner applies the state, then replays the
 * channel's recent messages: a stroke whose id is on the board is skipped, an undo of an
 * unknown id is ignored, and any message at or before the `cleared` seq is dropped.
 */
import type { AppMessage, ParticipantId } from "../../../apps-sdk/src/types";

/** A point as fractions of the board's width and height. */
export type Point = [number, number];

export interface Stroke {
  id: string;
  by: ParticipantId;
  color: string;
  width: number;
  points: Point[];
}

export interface BoardState {
  strokes: Stroke[];
  cleared: number | null;
}

export type BoardMessage =
  | { t: "stroke"; id: string; color: string; width: number; points: Point[] }
  | { t: "undo"; id: string }
  | { t: "clear" };

/** Points in a stroke this app sends. */
export const MAX_POINTS = 400;
/** Points accepted from others: more than this app sends, less than 16 KiB can carry. */
const MAX_RECEIVED_POINTS = 1200;
/** Line widths this app draws with, in thousandths of the board's width. */
export const WIDTHS = { thin: 4, thick: 12 } as const;
const MAX_WIDTH = 100;
/** The limit of a shared state, JSON-encoded. */
export const MAX_STATE_BYTES = 48 * 1024;

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const COLOR = /^#[0-9a-f]{6}$/i;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is string {
  return typeof value === "string" && ID.test(value);
}

function clamp01(v: number): number {
  return Math.min(1, Math.max(0, v));
}

function round4(v: number): number {
  return Math.round(clamp01(v) * 1e4) / 1e4;
}

function parsePoints(value: unknown): Point[] | null {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_RECEIVED_POINTS) return null;
  const points: Point[] = [];
  for (const p of value) {
    if (!Array.isArray(p) || p.length !== 2) return null;
    const [x, y] = p as unknown[];
    if (typeof x !== "number" || typeof y !== "number" || !Number.isFinite(x) || !Number.isFinite(y)) return null;
    points.push([clamp01(x), clamp01(y)]);
  }
  return points;
}

/** The look of a stroke, as both a message and the state carry it; null when malformed. */
function parseLook(fields: Record<string, unknown>): Omit<Stroke, "by"> | null {
  const { id, color, width } = fields;
  if (!isId(id) || typeof color !== "string" || !COLOR.test(color)) return null;
  if (typeof width !== "number" || !(width > 0 && width <= MAX_WIDTH)) return null;
  const points = parsePoints(fields.points);
  return points && { id, color: color.toLowerCase(), width, points };
}

/** A channel payload as a board message; null for anything else (other apps' junk included). */
export function parseMessage(payload: unknown): BoardMessage | null {
  if (!isRecord(payload)) return null;
  switch (payload.t) {
    case "stroke": {
      const look = parseLook(payload);
      return look && { t: "stroke", ...look };
    }
    case "undo":
      return isId(payload.id) ? { t: "undo", id: payload.id } : null;
    case "clear":
      return { t: "clear" };
    default:
      return null;
  }
}

/** A stroke's points ready to send: clamped, rounded, without repeats, at most `maxPoints`. */
export function simplify(points: readonly Point[], maxPoints = MAX_POINTS): Point[] {
  const rounded: Point[] = [];
  for (const [x, y] of points) {
    const p: Point = [round4(x), round4(y)];
    const last = rounded[rounded.length - 1];
    if (!last || last[0] !== p[0] || last[1] !== p[1]) rounded.push(p);
  }
  // Half a thousandth of the board is below what the eye sees. A stroke still too long gets
  // the smallest tolerance (within a few percent) that brings it under the limit: doubling
  // finds one that does, halving the gap then closes in on the least coarse.
  let fine = 0.0005;
  let best = reduce(rounded, fine);
  if (best.length <= maxPoints) return best;
  let coarse = fine;
  do {
    fine = coarse;
    coarse *= 2;
    best = reduce(rounded, coarse);
  } while (best.length > maxPoints);
  while (coarse - fine > fine * 0.05) {
    const middle = (fine + coarse) / 2;
    const kept = reduce(rounded, middle);
    if (kept.length > maxPoints) {
      fine = middle;
    } else {
      coarse = middle;
      best = kept;
    }
  }
  return best;
}

/** Ramer–Douglas–Peucker with an explicit stack: a long stroke must not exhaust the call stack. */
function reduce(points: Point[], tolerance: number): Point[] {
  if (points.length <= 2) return points;
  const keep = new Uint8Array(points.length);
  keep[0] = 1;
  keep[points.length - 1] = 1;
  const spans: [number, number][] = [[0, points.length - 1]];
  for (let span = spans.pop(); span; span = spans.pop()) {
    const [a, b] = span;
    let farthest = -1;
    let distance = tolerance;
    for (let i = a + 1; i < b; i++) {
      const d = segmentDistance(points[i], points[a], points[b]);
      if (d > distance) {
        farthest = i;
        distance = d;
      }
    }
    if (farthest >= 0) {
      keep[farthest] = 1;
      spans.push([a, farthest], [farthest, b]);
    }
  }
  return points.filter((_, i) => keep[i] === 1);
}

function segmentDistance([px, py]: Point, [ax, ay]: Point, [bx, by]: Point): number {
  const dx = bx - ax;
  const dy = by - ay;
  const length2 = dx * dx + dy * dy;
  const t = length2 === 0 ? 0 : clamp01(((px - ax) * dx + (py - ay) * dy) / length2);
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

export class Board {
  strokes: Stroke[] = [];
  /** The seq of the last clear applied; messages up to it are history. */
  cleared: number | null = null;

  /** A board from a shared state; malformed strokes are left out, a malformed state is empty. */
  static fromState(state: unknown): Board {
    const board = new Board();
    if (!isRecord(state)) return board;
    if (typeof state.cleared === "number" && Number.isSafeInteger(state.cleared)) board.cleared = state.cleared;
    const ids = new Set<string>();
    for (const raw of Array.isArray(state.strokes) ? state.strokes : []) {
      if (!isRecord(raw) || typeof raw.by !== "number" || !Number.isSafeInteger(raw.by)) continue;
      const look = parseLook(raw);
      if (!look || ids.has(look.id)) continue;
      ids.add(look.id);
      board.strokes.push({ ...look, by: raw.by });
    }
    return board;
  }

  /**
   * Applies a message from the channel; true when the board changed. Applying a message twice
   * changes nothing the second time, so a replay over a snapshot is harmless.
   */
  apply(message: AppMessage, isModerator: (id: ParticipantId) => boolean): boolean {
    const m = parseMessage(message.payload);
    if (!m || (this.cleared !== null && message.seq <= this.cleared)) return false;
    switch (m.t) {
      case "stroke": {
        if (this.strokes.some((s) => s.id === m.id)) return false;
        this.strokes.push({ id: m.id, by: message.from, color: m.color, width: m.width, points: m.points });
        return true;
      }
      case "undo": {
        const i = this.strokes.findIndex((s) => s.id === m.id);
        if (i < 0 || !(this.strokes[i].by === message.from || isModerator(message.from))) return false;
        this.strokes.splice(i, 1);
        return true;
      }
      case "clear": {
        if (!isModerator(message.from)) return false;
        this.strokes = [];
        this.cleared = message.seq;
        return true;
      }
    }
  }

  /** The newest stroke `by` drew, passing over those in `skip` (undos already on their way). */
  newestOf(by: ParticipantId, skip: ReadonlySet<string> = new Set()): Stroke | undefined {
    for (let i = this.strokes.length - 1; i >= 0; i--) {
      const s = this.strokes[i];
      if (s.by === by && !skip.has(s.id)) return s;
    }
    return undefined;
  }

  /** The shared state: the newest strokes that fit in `maxBytes` of JSON, oldest first. */
  snapshot(maxBytes = MAX_STATE_BYTES): BoardState {
    const cleared = this.cleared;
    let size = byteLength(JSON.stringify({ strokes: [], cleared }));
    const kept: Stroke[] = [];
    for (let i = this.strokes.length - 1; i >= 0; i--) {
      const { id, by, color, width, points } = this.strokes[i];
      const stroke = { id, by, color, width, points };
      const bytes = byteLength(JSON.stringify(stroke)) + (kept.length > 0 ? 1 : 0);
      if (size + bytes > maxBytes) break;
      size += bytes;
      kept.push(stroke);
    }
    return { strokes: kept.reverse(), cleared };
  }
}
