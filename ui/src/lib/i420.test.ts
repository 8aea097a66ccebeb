import { describe, expect, it } from "vitest";
import { i420ToRgba, parseFrame } from "./i420";

function message(width: number, height: number, y: number, u: number, v: number): ArrayBuffer {
  const buf = new ArrayBuffer(12 + (width * height * 3) / 2);
  const view = new DataView(buf);
  view.setUint32(0, width, true);
  view.setUint32(4, height, true);
  view.setUint32(8, 5, true);
  const bytes = new Uint8Array(buf, 12);
  bytes.fill(y, 0, width * height);
  bytes.fill(u, width * height, (width * height * 5) / 4);
  bytes.fill(v, (width * height * 5) / 4);
  return buf;
}

describe("parseFrame", () => {
  it("reads the header and planes", () => {
    const f = parseFrame(message(4, 2, 100, 110, 120));
    expect(f?.width).toBe(4);
    expect(f?.skipped).toBe(5);
    expect(f?.y.length).toBe(8);
    expect(f?.u.length).toBe(2);
  });
  it("refuses truncated, odd or absurd frames", () => {
    expect(parseFrame(new ArrayBuffer(4))).toBeNull();
    expect(parseFrame(message(4, 2, 0, 0, 0).slice(0, 16))).toBeNull();
    expect(parseFrame(message(3, 2, 0, 0, 0))).toBeNull();
    const huge = new ArrayBuffer(12);
    new DataView(huge).setUint32(0, 100000, true);
    new DataView(huge).setUint32(4, 2, true);
    expect(parseFrame(huge)).toBeNull();
  });
});

describe("i420ToRgba", () => {
  it("maps video black, white and a saturated red", () => {
    const out = new Uint8ClampedArray(4 * 2 * 4);
    const black = parseFrame(message(4, 2, 16, 128, 128));
    const white = parseFrame(message(4, 2, 235, 128, 128));
    const red = parseFrame(message(4, 2, 81, 90, 240));
    if (!black || !white || !red) throw new Error("frames parse");
    i420ToRgba(black, out);
    expect([...out.slice(0, 4)]).toEqual([0, 0, 0, 255]);
    i420ToRgba(white, out);
    expect([...out.slice(0, 3)].every((c) => c >= 254)).toBe(true);
    i420ToRgba(red, out);
    expect(out[0]).toBeGreaterThan(240);
    expect(out[1]).toBeLessThan(20);
    expect(out[2]).toBeLessThan(20);
  });
});
