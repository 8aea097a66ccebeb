import { describe, expect, it } from "vitest";
import { asAppError, inDesktopApp } from "./api";

describe("asAppError", () => {
  it("keeps code and message from a command error", () => {
    expect(asAppError({ code: "io", message: "disk full" })).toEqual({ code: "io", message: "disk full" });
  });
  it("wraps strings and unknown shapes", () => {
    expect(asAppError("boom")).toEqual({ code: "unknown", message: "boom" });
    expect(asAppError({ message: 42 })).toEqual({ code: "unknown", message: "42" });
  });
});

describe("inDesktopApp", () => {
  it("is false outside the webview", () => expect(inDesktopApp()).toBe(false));
});
