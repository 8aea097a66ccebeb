import { describe, expect, it, vi } from "vitest";
import { afterListChange, asAppError, inDesktopApp, watchDevices, type AppError, type Devices } from "./api";

const soundDown: AppError = {
  kind: "sound_system_down",
  message:
    "No microphone is available: the sound system isn't running. Check that audio is on, or pick another microphone.",
  detail: "no microphone can be used: the sound system is not running (Connection refused (111))",
};
const noneFound: AppError = {
  kind: "device_not_found",
  message: "No microphone was found. Connect a microphone, then try again.",
  detail: null,
};

describe("asAppError", () => {
  it("keeps a command's error as it is: words, kind and detail", () => {
    expect(asAppError(soundDown)).toEqual(soundDown);
    expect(asAppError({ kind: "not_in_call", message: "You're not in a call." })).toEqual({
      kind: "not_in_call",
      message: "You're not in a call.",
      detail: null,
    });
  });
  it("turns anything else into an internal error with the text as its detail", () => {
    for (const thrown of ["boom", new Error("boom"), { message: 42 }, { kind: 1, message: "x" }]) {
      const e = asAppError(thrown);
      expect(e.kind).toBe("internal");
      expect(e.message).toMatch(/^Something went wrong inside Huddle\./);
      expect(e.detail).not.toBeNull();
    }
    expect(asAppError("boom").detail).toBe("boom");
    expect(asAppError(new Error("bad json")).detail).toBe("bad json");
    expect(asAppError(undefined).detail).toBeNull();
  });
});

describe("afterListChange", () => {
  it("lets a 'none found' error follow the list", () => {
    expect(afterListChange(noneFound, null)).toBeNull();
    expect(afterListChange(null, noneFound)).toEqual(noneFound);
    expect(afterListChange(noneFound, noneFound)).toEqual(noneFound);
  });
  it("keeps any other failure until the device is tried again", () => {
    expect(afterListChange(soundDown, null)).toEqual(soundDown);
    expect(afterListChange(soundDown, noneFound)).toEqual(soundDown);
  });
});

describe("inDesktopApp", () => {
  it("is false outside the webview", () => expect(inDesktopApp()).toBe(false));
});

describe("watchDevices", () => {
  const cam = (id: string) => ({ id, label: id, isDefault: false });
  const lists = (cameras: string[]): Devices => ({
    cameras: cameras.map(cam),
    microphones: [],
    speakers: [],
    cameraProblem: null,
    microphoneProblem: null,
    speakerProblem: null,
  });

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
