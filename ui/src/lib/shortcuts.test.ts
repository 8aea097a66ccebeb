import { describe, expect, it } from "vitest";
import { shortcutFor } from "./shortcuts";

const key = (code: string, over = {}) => ({
  key: code.slice(3).toLowerCase(),
  code,
  altKey: true,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  ...over,
});

describe("shortcutFor", () => {
  it("maps Alt+letters to call actions by physical key", () => {
    expect(shortcutFor(key("KeyA"))).toBe("toggle_audio");
    expect(shortcutFor(key("KeyV"))).toBe("toggle_video");
    expect(shortcutFor(key("KeyQ"))).toBe("leave");
    expect(shortcutFor({ ...key("KeyA"), key: "å" })).toBe("toggle_audio");
  });
  it("ignores plain typing and other modifiers", () => {
    expect(shortcutFor(key("KeyA", { altKey: false }))).toBeNull();
    expect(shortcutFor(key("KeyA", { ctrlKey: true }))).toBeNull();
    expect(shortcutFor(key("KeyZ"))).toBeNull();
  });
});
