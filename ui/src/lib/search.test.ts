import { afterEach, describe, expect, it, vi } from "vitest";
import { debounce, filterByName, foldName, searchable, searchTerm } from "./search";
import { member } from "./fixtures";

describe("foldName", () => {
  it("ignores case, accents and invisible format characters", () => {
    expect(foldName("Émile Zola")).toBe("emile zola");
    expect(foldName("JOSÉ")).toBe(foldName("jose"));
    expect(foldName("\u202eEve\u200b")).toBe("eve");
    expect(foldName("Zoë Ångström")).toBe("zoe angstrom");
  });
});

describe("searchTerm", () => {
  it("trims, and is null for a blank box", () => {
    expect(searchTerm("  ann ")).toBe("ann");
    expect(searchTerm("   ")).toBeNull();
    expect(searchTerm("")).toBeNull();
  });
});

describe("filterByName", () => {
  const people = searchable(
    [member(1, "host", { name: "Émile" }), member(2, "participant", { name: "Bo" }), member(3, "manager", { name: "emily" })],
    (m) => m.name,
  );
  it("keeps the order and finds names containing the term, whatever its case or accents", () => {
    expect(filterByName(people, "emil").map((m) => m.id)).toEqual([1, 3]);
    expect(filterByName(people, "ÉMI").map((m) => m.id)).toEqual([1, 3]);
    expect(filterByName(people, "o").map((m) => m.id)).toEqual([2]);
    expect(filterByName(people, "zed")).toEqual([]);
  });
  it("keeps everyone without a term", () => {
    expect(filterByName(people, null).map((m) => m.id)).toEqual([1, 2, 3]);
  });
});

describe("debounce", () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  it("calls once the calls stop, with the last arguments", () => {
    vi.useFakeTimers();
    const seen: string[] = [];
    const search = debounce((q: string) => seen.push(q), 250);
    search("a");
    vi.advanceTimersByTime(200);
    search("an");
    vi.advanceTimersByTime(200);
    expect(seen).toEqual([]);
    search("ann");
    vi.advanceTimersByTime(250);
    expect(seen).toEqual(["ann"]);
  });
  it("drops a waiting call when cancelled", () => {
    vi.useFakeTimers();
    const seen: string[] = [];
    const search = debounce((q: string) => seen.push(q), 250);
    search("a");
    search.cancel();
    vi.advanceTimersByTime(1000);
    expect(seen).toEqual([]);
  });
});
