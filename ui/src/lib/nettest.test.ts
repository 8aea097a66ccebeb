import { describe, expect, it } from "vitest";
import { applyProgress, formatKbps, formatMs, formatPct, initialStages, pathState, progressLine } from "./nettest";

describe("progress", () => {
  it("marks stages running, then ok or failed", () => {
    let s = initialStages();
    s = applyProgress(s, { event: "started", stage: "udp" });
    expect(s.udp).toBe("running");
    s = applyProgress(s, { event: "finished", stage: "udp", ok: false });
    expect(s.udp).toBe("failed");
    expect(s.download).toBe("waiting");
  });
  it("sums up in one line what runs and how much is done", () => {
    let s = initialStages();
    expect(progressLine(s)).toBe("Starting… (0 of 6 done)");
    s = applyProgress(s, { event: "started", stage: "config" });
    expect(progressLine(s)).toBe("Reaching the server… (0 of 6 done)");
    s = applyProgress(s, { event: "finished", stage: "config", ok: true });
    s = applyProgress(s, { event: "started", stage: "udp" });
    s = applyProgress(s, { event: "started", stage: "web_socket" });
    expect(progressLine(s)).toBe("Round trip, jitter and loss (UDP), Round trip (TCP)… (1 of 6 done)");
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
