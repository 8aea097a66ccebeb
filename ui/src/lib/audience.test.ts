import { describe, expect, it } from "vitest";
import { loadedRows, nextPage, noPages, withPage } from "./audience";
import { member } from "./fixtures";
import type { RosterPageView } from "./generated/call";

/** A page of audience members with ids `from`..`to` (inclusive). */
function page(from: number, to: number, next: string | null, count = 250): RosterPageView {
  const members = [];
  for (let id = from; id <= to; id++) members.push(member(id, "audience"));
  return { members, next, count };
}

const none = new Set<number>();

describe("loadedRows", () => {
  it("has nothing loaded at first, and wants the first page", () => {
    const rows = loadedRows(noPages(null), none);
    expect(rows.members).toEqual([]);
    expect(rows.missing).toBeNull();
  });
  it("follows the cursors from the first page until one is missing", () => {
    let p = withPage(noPages(null), null, page(1, 100, "c100"), 0);
    p = withPage(p, "c200", page(201, 250, null), 0); // not reachable yet
    const rows = loadedRows(p, none);
    expect(rows.members).toHaveLength(100);
    expect(rows.missing).toBe("c100");
    expect(p.count).toBe(250);
  });
  it("ends once the last page is there", () => {
    let p = withPage(noPages(null), null, page(1, 100, "c100"), 0);
    p = withPage(p, "c100", page(101, 200, "c200"), 0);
    p = withPage(p, "c200", page(201, 250, null), 1);
    const rows = loadedRows(p, none);
    expect(rows.members.map((m) => m.id).slice(98, 102)).toEqual([99, 100, 101, 102]);
    expect(rows.missing).toBeUndefined();
    expect(rows.spans).toEqual([
      { after: null, start: 0, end: 100, gen: 0 },
      { after: "c100", start: 100, end: 200, gen: 0 },
      { after: "c200", start: 200, end: 250, gen: 1 },
    ]);
  });
  it("leaves out the members listed elsewhere", () => {
    const p = withPage(noPages(null), null, page(1, 5, null, 5), 0);
    expect(loadedRows(p, new Set([2, 4])).members.map((m) => m.id)).toEqual([1, 3, 5]);
  });
  it("stops on a cursor that loops", () => {
    let p = withPage(noPages(null), null, page(1, 2, "a"), 0);
    p = withPage(p, "a", page(3, 4, "a"), 0);
    const rows = loadedRows(p, none);
    expect(rows.members).toHaveLength(4);
    expect(rows.missing).toBe("a");
  });
});

describe("nextPage", () => {
  const two = withPage(withPage(noPages(null), null, page(1, 100, "c100"), 0), "c100", page(101, 200, "c200"), 0);
  const rows = loadedRows(two, none);

  it("asks for nothing while the audience is folded or out of view", () => {
    expect(nextPage(rows, null, 0)).toBeNull();
    expect(nextPage(rows, { first: 0, last: -1 }, 0)).toBeNull();
  });
  it("asks for the first page as soon as the group opens", () => {
    expect(nextPage(loadedRows(noPages("ann"), none), { first: -3, last: 0 }, 0)).toEqual({ after: null });
  });
  it("asks for the next page only near the end of what is loaded", () => {
    expect(nextPage(rows, { first: 100, last: 130 }, 0)).toBeNull();
    expect(nextPage(rows, { first: 150, last: 170 }, 0, 30)).toEqual({ after: "c200" });
  });
  it("asks for nothing more once the last page is loaded", () => {
    const all = loadedRows(withPage(two, "c200", page(201, 210, null), 0), none);
    expect(nextPage(all, { first: 195, last: 210 }, 0)).toBeNull();
  });
  it("first re-reads a page in view that is older than the audience", () => {
    expect(nextPage(rows, { first: 90, last: 110 }, 1)).toEqual({ after: null });
    expect(nextPage(rows, { first: 120, last: 140 }, 1)).toEqual({ after: "c100" });
    const fresh = loadedRows(withPage(two, "c100", page(101, 200, "c200"), 1), none);
    expect(nextPage(fresh, { first: 120, last: 140 }, 1)).toBeNull();
  });
  it("re-reads an emptied page in view", () => {
    const p = withPage(noPages(null), null, page(1, 3, null, 3), 0);
    const emptied = loadedRows(p, new Set([1, 2, 3]));
    expect(nextPage(emptied, { first: -2, last: 0 }, 1)).toEqual({ after: null });
  });
});
