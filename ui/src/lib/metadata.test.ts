import { describe, expect, it } from "vitest";
import { canEditRoom, checkDraft, MAX_KEY_CHARS } from "./metadata";

describe("who edits the room's metadata", () => {
  it("is the host and managers", () => {
    expect(canEditRoom("host")).toBe(true);
    expect(canEditRoom("manager")).toBe(true);
    expect(canEditRoom("participant")).toBe(false);
    expect(canEditRoom("audience")).toBe(false);
  });
});

describe("checkDraft", () => {
  it("takes a key and any JSON value, trimmed", () => {
    expect(checkDraft({ key: " topic ", value: ' "Q3 review" ' })).toEqual({ ok: true, key: "topic", value: '"Q3 review"' });
    for (const value of ["3", "-1.5", "true", "null", "[1, 2]", '{"a": {"b": null}}']) {
      expect(checkDraft({ key: "k", value })).toMatchObject({ ok: true, value });
    }
  });

  it("says what is wrong with the key", () => {
    expect(checkDraft({ key: "  ", value: "1" })).toEqual({ ok: false, error: "Give the entry a key." });
    expect(checkDraft({ key: "a\u0007b", value: "1" })).toMatchObject({ ok: false, error: expect.stringContaining("control") });
    expect(checkDraft({ key: "k".repeat(MAX_KEY_CHARS), value: "1" }).ok).toBe(true);
    expect(checkDraft({ key: "k".repeat(MAX_KEY_CHARS + 1), value: "1" })).toMatchObject({
      ok: false,
      error: "A key is at most 64 characters.",
    });
    // Characters, not UTF-16 units: 64 emoji are a valid key.
    expect(checkDraft({ key: "😀".repeat(MAX_KEY_CHARS), value: "1" }).ok).toBe(true);
  });

  it("says what is wrong with the value, and how to write text", () => {
    expect(checkDraft({ key: "k", value: "" })).toMatchObject({ ok: false, error: expect.stringContaining("Give a value") });
    expect(checkDraft({ key: "topic", value: "Q3 review" })).toEqual({
      ok: false,
      error: 'The value is not JSON. Text goes in double quotes: "Q3 review".',
    });
    expect(checkDraft({ key: "k", value: "{a: 1}" })).toEqual({ ok: false, error: "The value is not JSON." });
    expect(checkDraft({ key: "k", value: "12abc" })).toEqual({ ok: false, error: "The value is not JSON." });
  });
});
