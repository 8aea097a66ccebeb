import { describe, expect, it } from "vitest";
import { moveFocus, renderedRows, scrollToRow, visibleRange } from "./virtual";

const view = { scrollTop: 0, height: 440, rowHeight: 44, overscan: 5, count: 5000 };

describe("visibleRange", () => {
  it("renders the rows in view plus the overscan below at the top", () => {
    expect(visibleRange(view)).toEqual({ first: 0, last: 14, total: 5000 * 44 });
  });
  it("adds the overscan on both sides in the middle", () => {
    // Rows 100..109 fill the view exactly.
    expect(visibleRange({ ...view, scrollTop: 4400 })).toMatchObject({ first: 95, last: 114 });
    // Half a row scrolled: rows 100..110 show.
    expect(visibleRange({ ...view, scrollTop: 4422 })).toMatchObject({ first: 95, last: 115 });
  });
  it("is empty for an empty list", () => {
    expect(visibleRange({ ...view, count: 0 })).toEqual({ first: 0, last: -1, total: 0 });
    expect(visibleRange({ ...view, count: 0, scrollTop: 900 })).toEqual({ first: 0, last: -1, total: 0 });
  });
  it("shows the last screenful when scrolled past the end (the list shrank)", () => {
    expect(visibleRange({ ...view, count: 30, scrollTop: 100000 })).toEqual({ first: 15, last: 29, total: 30 * 44 });
  });
  it("shows every row of a list shorter than the view", () => {
    expect(visibleRange({ ...view, count: 3, scrollTop: 200 })).toEqual({ first: 0, last: 2, total: 132 });
  });
  it("treats elastic (negative) scrolling as the top", () => {
    expect(visibleRange({ ...view, scrollTop: -60 })).toMatchObject({ first: 0, last: 14 });
  });
  it("follows a resize of the view", () => {
    expect(visibleRange({ ...view, scrollTop: 4400, height: 880 })).toMatchObject({ first: 95, last: 124 });
    expect(visibleRange({ ...view, scrollTop: 4400, height: 0 })).toMatchObject({ first: 95, last: 105 });
  });
  it("accepts no overscan and odd inputs", () => {
    expect(visibleRange({ ...view, overscan: 0, scrollTop: 4400 })).toMatchObject({ first: 100, last: 109 });
    expect(visibleRange({ ...view, overscan: -3, rowHeight: 0, count: 2 })).toMatchObject({ first: 0, last: 1 });
  });
});

describe("renderedRows", () => {
  it("is the window when nothing must stay", () => {
    expect(renderedRows({ first: 3, last: 6 }, [null], 100)).toEqual([3, 4, 5, 6]);
  });
  it("keeps a focused row outside the window, in order, once", () => {
    expect(renderedRows({ first: 3, last: 5 }, [0, 4, 0], 100)).toEqual([0, 3, 4, 5]);
    expect(renderedRows({ first: 3, last: 5 }, [80], 100)).toEqual([3, 4, 5, 80]);
  });
  it("drops rows that no longer exist", () => {
    expect(renderedRows({ first: 0, last: 1 }, [7, -1], 2)).toEqual([0, 1]);
    expect(renderedRows({ first: 0, last: -1 }, [0], 0)).toEqual([]);
  });
});

describe("scrollToRow", () => {
  it("moves as little as possible to show a row", () => {
    expect(scrollToRow(5, 0, 440, 44)).toBe(0);
    expect(scrollToRow(10, 0, 440, 44)).toBe(44);
    expect(scrollToRow(2, 440, 440, 44)).toBe(88);
    expect(scrollToRow(0, 10, 20, 44)).toBe(0);
  });
});

describe("moveFocus", () => {
  it("steps, pages and jumps within the list", () => {
    expect(moveFocus("ArrowDown", 0, 10, 5)).toBe(1);
    expect(moveFocus("ArrowDown", 9, 10, 5)).toBe(9);
    expect(moveFocus("ArrowUp", 0, 10, 5)).toBe(0);
    expect(moveFocus("PageDown", 7, 10, 5)).toBe(9);
    expect(moveFocus("PageUp", 7, 10, 5)).toBe(2);
    expect(moveFocus("Home", 7, 10, 5)).toBe(0);
    expect(moveFocus("End", 0, 10, 5)).toBe(9);
  });
  it("ignores other keys and an empty list", () => {
    expect(moveFocus("a", 3, 10, 5)).toBeNull();
    expect(moveFocus("ArrowDown", 0, 0, 5)).toBeNull();
  });
});
