// Windowing for long lists of fixed-height rows: which rows to put in the DOM for a scroll
// position, so a list of thousands keeps only a screenful (and a few more) of elements.

export interface Viewport {
  /** The scroller's scrollTop, in pixels. */
  scrollTop: number;
  /** The scroller's visible height, in pixels. */
  height: number;
  /** Every row's height, in pixels. */
  rowHeight: number;
  /** Rows rendered beyond each edge, so a quick scroll does not show blank space. */
  overscan: number;
  /** Rows in the list. */
  count: number;
}

export interface RowWindow {
  /** The first row to render; 0 for an empty list. */
  first: number;
  /** The last row to render (inclusive); first - 1 when there is nothing to render. */
  last: number;
  /** The height of all rows together: the scroller's content height. */
  total: number;
}

/**
 * The rows in view for `v`, plus `overscan` on each side. A scroll position past the end
 * (the list shrank under it) shows the last screenful; a negative one (elastic scrolling)
 * the first.
 */
export function visibleRange(v: Viewport): RowWindow {
  const count = Math.max(0, Math.floor(v.count));
  const rowHeight = v.rowHeight > 0 ? v.rowHeight : 1;
  const total = count * rowHeight;
  if (count === 0) return { first: 0, last: -1, total: 0 };
  const height = Math.max(0, v.height);
  const overscan = Math.max(0, Math.floor(v.overscan));
  const top = Math.min(Math.max(0, v.scrollTop), Math.max(0, total - height));
  const inViewFirst = Math.min(count - 1, Math.floor(top / rowHeight));
  // A row that only touches the bottom edge is not in view.
  const inViewLast = Math.min(count - 1, Math.max(inViewFirst, Math.ceil((top + height) / rowHeight) - 1));
  return {
    first: Math.max(0, inViewFirst - overscan),
    last: Math.min(count - 1, inViewLast + overscan),
    total,
  };
}

/**
 * The rows to render: the window, plus the rows that must stay (the focused one, so that
 * scrolling it out of view keeps keyboard focus), in ascending order without repeats.
 */
export function renderedRows(w: Pick<RowWindow, "first" | "last">, keep: readonly (number | null)[], count: number): number[] {
  const out: number[] = [];
  for (let i = w.first; i <= w.last; i++) out.push(i);
  const extra = keep.filter((k): k is number => k !== null && k >= 0 && k < count && (k < w.first || k > w.last));
  if (extra.length === 0) return out;
  return [...new Set([...out, ...extra])].sort((a, b) => a - b);
}

/** The scrollTop that brings row `index` into view, moving as little as possible. */
export function scrollToRow(index: number, scrollTop: number, height: number, rowHeight: number): number {
  const top = index * rowHeight;
  const bottom = top + rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + height) return Math.max(0, bottom - height);
  return scrollTop;
}

/** Where a navigation key moves the focus in a list of `count` rows; null for other keys. */
export function moveFocus(key: string, index: number, count: number, pageRows: number): number | null {
  if (count === 0) return null;
  const page = Math.max(1, pageRows);
  const to = (i: number) => Math.min(count - 1, Math.max(0, i));
  switch (key) {
    case "ArrowDown":
      return to(index + 1);
    case "ArrowUp":
      return to(index - 1);
    case "PageDown":
      return to(index + page);
    case "PageUp":
      return to(index - page);
    case "Home":
      return 0;
    case "End":
      return count - 1;
    default:
      return null;
  }
}
