import { describe, expect, it } from "vitest";
import { applyProgress, formatKbps, formatMs, formatPct, initialStages, pathState } from "./nettest";

describe("progress", () => {
  it("marks stages running, then ok or failed", () => {
    let s = initialStages();
    s = applyProgress(s, { event: "started", stage: "udp" });
    expect(s.udp).toBe("running");
    s = applyProgress(s, { event: "finished", stage: "udp", ok: false });
    expect(s.udp).toBe("failed");
    expect(s.download).toBe("waiting");
  });
});

describe("formatting", () => {
  it("shows missing figures as a dash", () => {
    expect(formatMs(null)).toBe("—");
    expect(formatPct(Number.NaN)).toBe("—");
    expect(formatKbps(null)).toBe("—");
  });
  it("rounds sensibly", () => {
    expect(formatMs(3.14159)).toBe("3.1 ms");
    expect(formatMs(102.8)).toBe("103 ms");
    expect(formatPct(0.25)).toBe("0.25 %");
    expect(formatPct(5.7)).toBe("5.7 %");
  });
  it("says when a speed is only a lower bound", () => {
    expect(formatKbps({ kbps: 1959, bytes: 1, duration_ms: 1, capped: false })).toBe("2.0 Mbit/s");
    expect(formatKbps({ kbps: 800, bytes: 1, duration_ms: 1, capped: true })).toBe("at least 800 kbit/s");
  });
  it("names path states", () => {
    expect(pathState(null)).toBe("not offered");
    expect(pathState(true)).toBe("works");
    expect(pathState(false)).toBe("blocked");
  });
});
