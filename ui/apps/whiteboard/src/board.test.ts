import { describe, expect, it } from "vitest";
import type { AppMessage } from "../../../apps-sdk/src/types";
import { Board, MAX_POINTS, parseMessage, simplify, type Point } from "./board";

const HOST = 1;
const ANN = 2;
const BO = 3;
const isModerator = (id: number) => id === HOST;

let seq = 0;
function msg(from: number, payload: unknown): AppMessage {
  return { seq: ++seq, from, fromMe: false, payload };
}

function stroke(id: string, points: Point[] = [[0.1, 0.1], [0.5, 0.5]]) {
  return { t: "stroke", id, color: "#e53935", width: 4, points };
}

function ids(board: Board): string[] {
  return board.strokes.map((s) => s.id);
}

describe("parseMessage", () => {
  it("reads the three messages", () => {
    expect(parseMessage(stroke("a"))).toEqual(stroke("a"));
    expect(parseMessage({ t: "undo", id: "a" })).toEqual({ t: "undo", id: "a" });
    expect(parseMessage({ t: "clear", extra: 1 })).toEqual({ t: "clear" });
  });

  it("refuses malformed strokes", () => {
    const bad = [
      { ...stroke("a"), id: "" },
      { ...stroke("a"), id: "has space" },
      { ...stroke("a"), color: "red" },
      { ...stroke("a"), color: "#12345" },
      { ...stroke("a"), width: 0 },
      { ...stroke("a"), width: "4" },
      { ...stroke("a"), points: [] },
      { ...stroke("a"), points: [[0.1]] },
      { ...stroke("a"), points: [[0.1, Number.NaN]] },
      { ...stroke("a"), points: "0,0" },
      { t: "undo" },
      { t: "scribble" },
      null,
      [stroke("a")],
    ];
    for (const payload of bad) expect(parseMessage(payload)).toBeNull();
  });

  it("keeps points on the board", () => {
    expect(parseMessage(stroke("a", [[-1, 2]]))).toMatchObject({ points: [[0, 1]] });
  });
});

describe("Board.apply", () => {
  it("adds a stroke by the message's sender, once", () => {
    const board = new Board();
    expect(board.apply(msg(ANN, stroke("a")), isModerator)).toBe(true);
    expect(board.apply(msg(BO, stroke("a")), isModerator)).toBe(false);
    expect(board.strokes).toEqual([{ id: "a", by: ANN, color: "#e53935", width: 4, points: [[0.1, 0.1], [0.5, 0.5]] }]);
  });

  it("undoes a stroke for its author or a moderator only", () => {
    const board = new Board();
    board.apply(msg(ANN, stroke("a")), isModerator);
    board.apply(msg(ANN, stroke("b")), isModerator);
    expect(board.apply(msg(BO, { t: "undo", id: "a" }), isModerator)).toBe(false);
    expect(board.apply(msg(ANN, { t: "undo", id: "a" }), isModerator)).toBe(true);
    expect(board.apply(msg(HOST, { t: "undo", id: "b" }), isModerator)).toBe(true);
    expect(ids(board)).toEqual([]);
  });

  it("ignores an undo of an unknown stroke", () => {
    const board = new Board();
    board.apply(msg(ANN, stroke("a")), isModerator);
    expect(board.apply(msg(ANN, { t: "undo", id: "zz" }), isModerator)).toBe(false);
    expect(ids(board)).toEqual(["a"]);
  });

  it("clears for a moderator only, remembering the clear's seq", () => {
    const board = new Board();
    board.apply(msg(ANN, stroke("a")), isModerator);
    expect(board.apply(msg(ANN, { t: "clear" }), isModerator)).toBe(false);
    expect(ids(board)).toEqual(["a"]);
    const clear = msg(HOST, { t: "clear" });
    expect(board.apply(clear, isModerator)).toBe(true);
    expect(board.strokes).toEqual([]);
    expect(board.cleared).toBe(clear.seq);
    expect(board.apply(clear, isModerator)).toBe(false);
  });

  it("ignores payloads that are not board messages", () => {
    const board = new Board();
    expect(board.apply(msg(ANN, "hello"), isModerator)).toBe(false);
    expect(board.apply(msg(ANN, { t: "stroke" }), isModerator)).toBe(false);
  });
});

describe("a late joiner", () => {
  /** The channel as the members above saw it; returns the messages, oldest first. */
  function history(): AppMessage[] {
    return [
      msg(ANN, stroke("a")),
      msg(BO, stroke("b")),
      msg(HOST, { t: "clear" }),
      msg(ANN, stroke("c")),
      msg(BO, stroke("d")),
      msg(BO, { t: "undo", id: "d" }),
      msg(ANN, stroke("e")),
    ];
  }

  function live(messages: AppMessage[]): Board {
    const board = new Board();
    for (const m of messages) board.apply(m, isModerator);
    return board;
  }

  it("gets the same board from any snapshot followed by the recent messages", () => {
    const all = history();
    const expected = ids(live(all));
    expect(expected).toEqual(["c", "e"]);
    for (let taken = 0; taken <= all.length; taken++) {
      const state = JSON.parse(JSON.stringify(live(all.slice(0, taken)).snapshot()));
      for (let recentFrom = 0; recentFrom <= taken; recentFrom++) {
        const board = Board.fromState(state);
        for (const m of all.slice(recentFrom)) board.apply(m, isModerator);
        expect(ids(board), `snapshot after ${taken}, recent from ${recentFrom}`).toEqual(expected);
      }
    }
  });

  it("drops replayed messages from before the last clear", () => {
    const all = history();
    const board = Board.fromState(live(all.slice(0, 3)).snapshot());
    expect(board.apply(all[0], isModerator)).toBe(false);
  });
});

describe("Board.fromState", () => {
  it("reads a state and leaves out what is malformed", () => {
    const good = { id: "a", by: ANN, color: "#00AA00", width: 12, points: [[0, 0]] };
    const board = Board.fromState({
      strokes: [good, { ...good, id: "b", by: "2" }, { ...good, id: "c", points: [] }, good, 7],
      cleared: 12,
    });
    expect(board.strokes).toEqual([{ ...good, color: "#00aa00" }]);
    expect(board.cleared).toBe(12);
  });

  it("is empty for anything but a state", () => {
    for (const state of [null, "x", [], { strokes: "no" }]) {
      const board = Board.fromState(state);
      expect(board.strokes).toEqual([]);
      expect(board.cleared).toBeNull();
    }
  });
});

describe("Board.newestOf", () => {
  it("finds my newest stroke, passing over undos on their way", () => {
    const board = new Board();
    board.apply(msg(ANN, stroke("a")), isModerator);
    board.apply(msg(ANN, stroke("b")), isModerator);
    board.apply(msg(BO, stroke("c")), isModerator);
    expect(board.newestOf(ANN)?.id).toBe("b");
    expect(board.newestOf(ANN, new Set(["b"]))?.id).toBe("a");
    expect(board.newestOf(ANN, new Set(["a", "b"]))).toBeUndefined();
    expect(board.newestOf(HOST)).toBeUndefined();
  });
});

describe("Board.snapshot", () => {
  function longStroke(id: string): AppMessage {
    const points: Point[] = Array.from({ length: 300 }, (_, i) => [i / 300, (i % 7) / 7]);
    return msg(ANN, stroke(id, points));
  }

  it("holds the whole board when it fits", () => {
    const board = new Board();
    board.apply(msg(ANN, stroke("a")), isModerator);
    expect(board.snapshot()).toEqual({ strokes: board.strokes, cleared: null });
  });

  it("keeps the newest strokes that fit, oldest first", () => {
    const board = new Board();
    for (let i = 0; i < 40; i++) board.apply(longStroke(`s${i}`), isModerator);
    const state = board.snapshot();
    const size = new TextEncoder().encode(JSON.stringify(state)).length;
    expect(size).toBeLessThanOrEqual(48 * 1024);
    expect(state.strokes.length).toBeGreaterThan(1);
    expect(state.strokes.length).toBeLessThan(40);
    expect(state.strokes.map((s) => s.id)).toEqual(ids(board).slice(40 - state.strokes.length));
  });

  it("fills the limit exactly when a stroke fits to the byte", () => {
    const board = new Board();
    board.apply(msg(ANN, stroke("a")), isModerator);
    board.apply(msg(ANN, stroke("b")), isModerator);
    const exact = JSON.stringify(board.snapshot()).length;
    expect(board.snapshot(exact).strokes).toHaveLength(2);
    expect(board.snapshot(exact - 1).strokes.map((s) => s.id)).toEqual(["b"]);
  });
});

describe("simplify", () => {
  it("keeps a short stroke's shape, rounded to 4 decimals, without repeats", () => {
    expect(
      simplify([
        [0.123456, 0.5],
        [0.123456, 0.5],
        [0.5, 0.9],
        [1.5, -1],
      ]),
    ).toEqual([
      [0.1235, 0.5],
      [0.5, 0.9],
      [1, 0],
    ]);
  });

  it("drops points on a straight line", () => {
    const line: Point[] = Array.from({ length: 101 }, (_, i) => [i / 100, i / 200]);
    expect(simplify(line)).toEqual([
      [0, 0],
      [1, 0.5],
    ]);
  });

  it("keeps a dot a dot", () => {
    expect(simplify([[0.2, 0.3]])).toEqual([[0.2, 0.3]]);
    expect(simplify([[0.2, 0.3], [0.2, 0.3]])).toEqual([[0.2, 0.3]]);
  });

  it("brings a long scribble under the limit, keeping its ends, in a message well under 16 KiB", () => {
    // A minute of drawing at 120 events a second: forty loops across the board.
    const scribble: Point[] = Array.from({ length: 7200 }, (_, i) => [
      0.05 + (0.9 * i) / 7200 + 0.04 * Math.sin(i / 28),
      0.5 + 0.4 * Math.cos(i / 28),
    ]);
    const points = simplify(scribble);
    expect(points.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(points.length).toBeGreaterThan(MAX_POINTS / 4);
    expect(points[0]).toEqual(simplify([scribble[0]])[0]);
    expect(points[points.length - 1]).toEqual(simplify([scribble[scribble.length - 1]])[0]);
    const message = { t: "stroke", id: "x".repeat(64), color: "#1b1f24", width: 12, points };
    expect(JSON.stringify(message).length).toBeLessThan(8 * 1024);
  });

  it("keeps the worst case of 400 points under 8 KiB", () => {
    const points: Point[] = Array.from({ length: MAX_POINTS }, () => [0.1234, 0.5678]);
    const message = { t: "stroke", id: "x".repeat(64), color: "#1b1f24", width: 12, points };
    expect(JSON.stringify(message).length).toBeLessThan(8 * 1024);
  });
});
