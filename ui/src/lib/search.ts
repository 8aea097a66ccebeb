// Finding people by name in the user list: one folding of names for the local filter, and
// the debounce that spaces out the searches sent to the server.

/**
 * A name reduced for matching: lower case, without accents and other combining marks, and
 * without invisible format characters (a name may hide a direction override in itself).
 */
export function foldName(name: string): string {
  return name.normalize("NFD").replace(/[\p{M}\p{Cf}]/gu, "").toLowerCase();
}

/** What the search box asks for: null when it holds nothing but blanks. */
export function searchTerm(query: string): string | null {
  const term = query.trim();
  return term === "" ? null : term;
}

/** Names folded once, so filtering on each keystroke is a scan of ready strings. */
export interface Searchable<T> {
  item: T;
  key: string;
}

export function searchable<T>(items: readonly T[], name: (item: T) => string): Searchable<T>[] {
  return items.map((item) => ({ item, key: foldName(name(item)) }));
}

/** The items whose name contains the search term; all of them without one. */
export function filterByName<T>(items: readonly Searchable<T>[], term: string | null): T[] {
  if (term === null) return items.map((s) => s.item);
  const needle = foldName(term);
  return items.filter((s) => s.key.includes(needle)).map((s) => s.item);
}

export interface Debounced<A extends unknown[]> {
  (...args: A): void;
  /** Drops a call still waiting. */
  cancel(): void;
}

/** Calls `fn` once calls have stopped for `ms`, with the last call's arguments. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): Debounced<A> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const call = (...args: A) => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn(...args);
    }, ms);
  };
  call.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  return call;
}
