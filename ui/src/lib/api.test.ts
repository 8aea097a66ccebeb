import { describe, expect, it, vi } from "vitest";
import { asAppError, inDesktopApp, watchDevices, type Devices } from "./api";

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

describe("watchDevices", () => {
  const cam = (id: string) => ({ id, label: id, isDefault: false });
  const lists = (cameras: string[]): Devices => ({ cameras: cameras.map(cam), microphones: [], speakers: [] });

  it("reports the first list, then only changes, until stopped", async () => {
    vi.useFakeTimers();
    try {
      const answers = [lists(["a"]), lists(["a"]), lists(["a", "b"]), lists(["b"])];
      let calls = 0;
      const list = async () => {
        const answer = answers[Math.min(calls, answers.length - 1)];
        calls++;
        if (calls === 2) throw new Error("enumeration failed");
        return answer;
      };
      const seen: string[][] = [];
      const errors: unknown[] = [];
      const stop = watchDevices((d) => seen.push(d.cameras.map((c) => c.id)), (e) => errors.push(e), 1000, list);
      await vi.advanceTimersByTimeAsync(0);
      expect(seen).toEqual([["a"]]);
      await vi.advanceTimersByTimeAsync(1000); // fails: reported, watching goes on
      expect(errors).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1000); // a camera plugged in
      expect(seen).toEqual([["a"], ["a", "b"]]);
      stop();
      await vi.advanceTimersByTimeAsync(5000);
      expect(seen).toHaveLength(2);
      expect(calls).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it("given the list already known, waits a period and reports only a change", async () => {
    vi.useFakeTimers();
    try {
      let calls = 0;
      const list = async () => {
        calls++;
        return calls === 1 ? lists(["a"]) : lists(["a", "b"]);
      };
      const seen: string[][] = [];
      const stop = watchDevices((d) => seen.push(d.cameras.map((c) => c.id)), () => {}, 1000, list, lists(["a"]));
      await vi.advanceTimersByTimeAsync(0);
      expect(calls).toBe(0);
      await vi.advanceTimersByTimeAsync(1000); // the same list: nothing to report
      expect(seen).toEqual([]);
      await vi.advanceTimersByTimeAsync(1000);
      expect(seen).toEqual([["a", "b"]]);
      stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
