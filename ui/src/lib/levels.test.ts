import { describe, expect, it, vi } from "vitest";
import { clampGate, gateLabel, meterPosition, setVolume, toGain, toPercent, volumeOf } from "./levels";

describe("levels", () => {
  it("places a threshold on the meter's scale", () => {
    expect(meterPosition(-60)).toBe(0);
    expect(meterPosition(-30)).toBe(0.5);
    expect(meterPosition(0)).toBe(1);
    expect(meterPosition(-90)).toBe(0);
    expect(meterPosition(6)).toBe(1);
  });

  it("maps sliders in percent to gains and back, within 0 to 200 %", () => {
    expect(toGain(50)).toBe(0.5);
    expect(toGain(0)).toBe(0);
    expect(toGain(250)).toBe(2);
    expect(toGain(Number.NaN)).toBe(1);
    expect(toPercent(1.5)).toBe(150);
    expect(toPercent(-1)).toBe(0);
  });

  it("keeps a threshold in range and says when the gate is off", () => {
    expect(clampGate(-70)).toBe(-60);
    expect(clampGate(-10)).toBe(-20);
    expect(clampGate(-44.6)).toBe(-45);
    expect(gateLabel(null)).toBe("Off");
    expect(gateLabel(-45)).toBe("-45 dB");
  });

  it("sends a member's volume as a gain and remembers it for that member only", async () => {
    const send = vi.fn(async () => {});
    let volumes = await setVolume({}, 7, 50, send);
    expect(send).toHaveBeenCalledWith(7, 0.5);
    volumes = await setVolume(volumes, 9, 300, send);
    expect(send).toHaveBeenLastCalledWith(9, 2);
    expect(volumeOf(volumes, 7)).toBe(50);
    expect(volumeOf(volumes, 9)).toBe(200);
    expect(volumeOf(volumes, 3)).toBe(100);
  });

  it("keeps the volumes as they were when the app refuses", async () => {
    const refused = { kind: "not_in_call", message: "You are not in a call.", detail: null };
    const volumes = { 7: 50 };
    await expect(setVolume(volumes, 7, 0, async () => Promise.reject(refused))).rejects.toBe(refused);
    expect(volumeOf(volumes, 7)).toBe(50);
  });
});
