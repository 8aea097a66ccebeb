// The audience in the user list: the snapshot carries only its count, and its members are read
// page by page (`call_roster_page`) as the list scrolls near their end. Pages are cached by
// the cursor they were asked after; this module says which page to ask for next, and the
// component asks for one at a time.
import type { MemberView, RosterPageView } from "./generated/call";

/** Members per request. */
export const PAGE_SIZE = 100;

/** How many rows before the end of what is loaded the next page is asked for. */
export const FETCH_AHEAD = 30;

export interface CachedPage {
  page: RosterPageView;
  /** The audience's generation when the page was read; older means it may be out of date. */
  gen: number;
}

export interface AudiencePages {
  /** The search these pages answer; null: the whole audience. */
  search: string | null;
  /** Pages by the cursor they follow (null: the first page). */
  pages: ReadonlyMap<string | null, CachedPage>;
  /** Audience members matching the search, from the latest answer; null before any. */
  count: number | null;
}

export function noPages(search: string | null): AudiencePages {
  return { search, pages: new Map(), count: null };
}

/** The cache with one more (or one newer) page. */
export function withPage(p: AudiencePages, after: string | null, page: RosterPageView, gen: number): AudiencePages {
  const pages = new Map(p.pages);
  pages.set(after, { page, gen });
  return { search: p.search, pages, count: page.count };
}

export interface PageSpan {
  after: string | null;
  /** Its rows in `AudienceRows.members`: start inclusive, end exclusive. */
  start: number;
  end: number;
  gen: number;
}

export interface AudienceRows {
  /** The members loaded so far, in join order. */
  members: MemberView[];
  spans: PageSpan[];
  /** The cursor of the first page not loaded yet; undefined once the last page is. */
  missing: string | null | undefined;
}

/**
 * The loaded audience in order, following the pages' cursors from the first page until one is
 * missing. Members in `skip` (me, people now on stage, raised hands listed apart) are left
 * out: a page read before a promotion still names the promoted member.
 */
export function loadedRows(p: AudiencePages, skip: ReadonlySet<number>): AudienceRows {
  const members: MemberView[] = [];
  const spans: PageSpan[] = [];
  const seen = new Set<string | null>();
  let after: string | null = null;
  for (;;) {
    const cached = p.pages.get(after);
    if (!cached || seen.has(after)) return { members, spans, missing: after };
    seen.add(after);
    const start = members.length;
    for (const m of cached.page.members) if (!skip.has(m.id)) members.push(m);
    spans.push({ after, start, end: members.length, gen: cached.gen });
    if (cached.page.next === null) return { members, spans, missing: undefined };
    after = cached.page.next;
  }
}

/**
 * The page to ask for, given the audience rows rendered (indices into `rows.members`, where
 * `members.length` is the loading row), or null for none: first a page in view that is older
 * than the audience (someone joined or left since), else the next page once the view comes
 * within `ahead` rows of the end.
 */
export function nextPage(
  rows: AudienceRows,
  view: { first: number; last: number } | null,
  gen: number,
  ahead = FETCH_AHEAD,
): { after: string | null } | null {
  if (view === null || view.last < view.first) return null;
  const stale = rows.spans.find(
    (s) => s.gen < gen && s.start <= view.last && (s.end > view.first || (s.end === s.start && s.start >= view.first)),
  );
  if (stale) return { after: stale.after };
  if (rows.missing !== undefined && view.last >= rows.members.length - ahead) return { after: rows.missing };
  return null;
}
