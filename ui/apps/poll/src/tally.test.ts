import { describe, expect, it } from "vitest";
import type { AppMessage } from "../../../apps-sdk/src/types";
import { Tally, parseMessage, pollFromForm } from "./tally";

const HOST = 1;
const MANAGER = 2;
const ANN = 3;
const BO = 4;
const isModerator = (id: number) => id === HOST || id === MANAGER;

let seq = 0;
function msg(from: number, payload: unknown): AppMessage {
  return { seq: ++seq, from, fromMe: false, payload };
}

const lunch = { t: "poll", id: "p1", question: "Lunch?", options: ["Pizza", "Soup", "Salad"] };
const vote = (option: number, poll = "p1") => ({ t: "vote", poll, option });
const close = (poll = "p1") => ({ t: "close", poll });

function started(): Tally {
  const tally = new Tally();
  tally.apply(msg(HOST, lunch), isModerator);
  return tally;
}

describe("parseMessage", () => {
  it("reads the three messages", () => {
    expect(parseMessage(lunch)).toEqual(lunch);
    expect(parseMessage(vote(2))).toEqual(vote(2));
    expect(parseMessage(close())).toEqual(close());
  });

  it("refuses malformed ones", () => {
    const bad = [
      { ...lunch, id: "" },
      { ...lunch, question: "   " },
      { ...lunch, question: "x".repeat(201) },
      { ...lunch, options: ["only one"] },
      { ...lunch, options: ["a", "b", "c", "d", "e", "f", "g"] },
      { ...lunch, options: ["a", ""] },
      { ...lunch, options: ["a", 2] },
      { ...lunch, options: "a,b" },
      { t: "vote", poll: "p1", option: 1.5 },
      { t: "vote", poll: "p1", option: "1" },
      { t: "vote", option: 1 },
      { t: "close" },
      { t: "reset" },
      "vote",
    ];
    for (const payload of bad) expect(parseMessage(payload)).toBeNull();
  });

  it("trims the texts", () => {
    expect(parseMessage({ ...lunch, question: " Lunch? ", options: [" a", "b "] })).toMatchObject({
      question: "Lunch?",
      options: ["a", "b"],
    });
  });
});

describe("pollFromForm", () => {
  it("leaves out blank options", () => {
    expect(pollFromForm("Lunch?", ["Pizza", "", " ", "Soup", ""])).toEqual({ question: "Lunch?", options: ["Pizza", "Soup"] });
  });

  it("wants a question and two to six options", () => {
    expect(pollFromForm("", ["a", "b"])).toBeNull();
    expect(pollFromForm("Q", ["a", " "])).toBeNull();
    expect(pollFromForm("Q", ["1", "2", "3", "4", "5", "6"])).not.toBeNull();
    expect(pollFromForm("Q", ["1", "2", "3", "4", "5", "6", "7"])).toBeNull();
  });
});

describe("Tally.apply", () => {
  it("starts a poll from a host or manager only", () => {
    const tally = new Tally();
    expect(tally.apply(msg(ANN, lunch), isModerator)).toBe(false);
    expect(tally.poll).toBeNull();
    expect(tally.apply(msg(MANAGER, lunch), isModerator)).toBe(true);
    expect(tally.poll).toEqual({ id: "p1", question: "Lunch?", options: ["Pizza", "Soup", "Salad"] });
    expect(tally.apply(msg(HOST, lunch), isModerator)).toBe(false);
  });

  it("counts the first vote of each member only", () => {
    const tally = started();
    expect(tally.apply(msg(ANN, vote(0)), isModerator)).toBe(true);
    expect(tally.apply(msg(ANN, vote(1)), isModerator)).toBe(false);
    expect(tally.apply(msg(BO, vote(0)), isModerator)).toBe(true);
    expect(tally.apply(msg(HOST, vote(2)), isModerator)).toBe(true);
    expect(tally.counts()).toEqual([2, 0, 1]);
    expect(tally.votes.get(ANN)).toBe(0);
  });

  it("ignores votes for another poll or an option out of range", () => {
    const tally = started();
    expect(tally.apply(msg(ANN, vote(0, "p0")), isModerator)).toBe(false);
    expect(tally.apply(msg(ANN, vote(3)), isModerator)).toBe(false);
    expect(tally.apply(msg(ANN, vote(-1)), isModerator)).toBe(false);
    expect(tally.counts()).toEqual([0, 0, 0]);
    expect(tally.apply(msg(ANN, vote(1)), isModerator)).toBe(true);
    expect(new Tally().apply(msg(ANN, vote(0)), isModerator)).toBe(false);
  });

  it("closes for a host or manager, after which votes are ignored", () => {
    const tally = started();
    tally.apply(msg(ANN, vote(1)), isModerator);
    expect(tally.apply(msg(ANN, close()), isModerator)).toBe(false);
    expect(tally.apply(msg(HOST, close("p0")), isModerator)).toBe(false);
    expect(tally.apply(msg(MANAGER, close()), isModerator)).toBe(true);
    expect(tally.closed).toBe(true);
    expect(tally.apply(msg(MANAGER, close()), isModerator)).toBe(false);
    expect(tally.apply(msg(BO, vote(0)), isModerator)).toBe(false);
    expect(tally.counts()).toEqual([0, 1, 0]);
  });

  it("replaces the poll, votes and all, with a new one", () => {
    const tally = started();
    tally.apply(msg(ANN, vote(1)), isModerator);
    tally.apply(msg(HOST, close()), isModerator);
    expect(tally.apply(msg(HOST, { ...lunch, id: "p2", options: ["Yes", "No"] }), isModerator)).toBe(true);
    expect(tally.closed).toBe(false);
    expect(tally.counts()).toEqual([0, 0]);
    expect(tally.apply(msg(ANN, vote(0, "p2")), isModerator)).toBe(true);
  });
});

describe("a late joiner", () => {
  function history(): AppMessage[] {
    return [
      msg(HOST, { ...lunch, id: "p0" }),
      msg(ANN, vote(0, "p0")),
      msg(HOST, close("p0")),
      msg(HOST, lunch),
      msg(ANN, vote(1)),
      msg(BO, vote(2)),
      msg(ANN, vote(0)),
      msg(HOST, close()),
      msg(BO, vote(0)),
    ];
  }

  function live(messages: AppMessage[]): Tally {
    const tally = new Tally();
    for (const m of messages) tally.apply(m, isModerator);
    return tally;
  }

  it("gets the same tally from any snapshot followed by the recent messages", () => {
    const all = history();
    const expected = live(all).snapshot();
    expect(expected).toEqual({ poll: { id: "p1", question: "Lunch?", options: ["Pizza", "Soup", "Salad"] }, votes: { 3: 1, 4: 2 }, closed: true });
    for (let taken = 0; taken <= all.length; taken++) {
      const state = JSON.parse(JSON.stringify(live(all.slice(0, taken)).snapshot()));
      for (let recentFrom = 0; recentFrom <= taken; recentFrom++) {
        const tally = Tally.fromState(state);
        for (const m of all.slice(recentFrom)) tally.apply(m, isModerator);
        expect(tally.snapshot(), `snapshot after ${taken}, recent from ${recentFrom}`).toEqual(expected);
      }
    }
  });
});

describe("Tally.fromState", () => {
  it("reads a state and leaves out malformed votes", () => {
    const tally = Tally.fromState({
      poll: { id: "p1", question: "Lunch?", options: ["Pizza", "Soup"] },
      votes: { "3": 1, "4": 2, "5": "0", x: 0, "06": 1, "7": 0 },
      closed: true,
    });
    expect([...tally.votes]).toEqual([
      [3, 1],
      [7, 0],
    ]);
    expect(tally.closed).toBe(true);
    expect(tally.counts()).toEqual([1, 1]);
  });

  it("is no poll for anything but a state", () => {
    for (const state of [null, 3, { poll: null, votes: { "1": 0 } }, { poll: { id: "p1" } }]) {
      const tally = Tally.fromState(state);
      expect(tally.snapshot()).toEqual({ poll: null, votes: {}, closed: false });
    }
  });
});
