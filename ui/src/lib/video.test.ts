import { describe, expect, it } from "vitest";
import { FrameSink, type Renderer } from "./video";

function frame(w: number, h: number, skipped = 0): ArrayBuffer {
  const buf = new ArrayBuffer(12 + (w * h * 3) / 2);
  const view = new DataView(buf);
  view.setUint32(0, w, true);
  view.setUint32(4, h, true);
  view.setUint32(8, skipped, true);
  return buf;
}

describe("FrameSink", () => {
  it("draws the newest frame once per tick and counts the ones it dropped", () => {
    const drawn: number[] = [];
    const renderer: Renderer = { kind: "2d", draw: (f) => drawn.push(f.width), destroy: () => {} };
    let tick: (() => void) | null = null;
    const sink = new FrameSink(renderer, (cb) => (tick = cb));
    sink.push(frame(2, 2));
    sink.push(frame(4, 2));
    sink.push(frame(6, 2));
    expect(tick).not.toBeNull();
    tick!();
    expect(drawn).toEqual([6]);
    expect(sink.drawn).toBe(1);
    expect(sink.dropped).toBe(2);
  });
  it("acknowledges a frame once drawn (or refused), and counts the app's drops from the header", () => {
    const renderer: Renderer = { kind: "2d", draw: () => {}, destroy: () => {} };
    let acks = 0;
    let tick: (() => void) | null = null;
    const sink = new FrameSink(renderer, (cb) => (tick = cb), undefined, () => acks++);
    sink.push(frame(2, 2, 3));
    expect(acks).toBe(0);
    sink.push(new ArrayBuffer(3));
    expect(acks).toBe(1);
    tick!();
    expect(acks).toBe(2);
    expect(sink.drawn).toBe(1);
    expect(sink.dropped).toBe(4);
  });
  it("drops malformed frames without drawing", () => {
    const renderer: Renderer = { kind: "2d", draw: () => { throw new Error("must not draw"); }, destroy: () => {} };
    const sink = new FrameSink(renderer, (cb) => cb());
    sink.push(new ArrayBuffer(5));
    expect(sink.drawn).toBe(0);
    expect(sink.dropped).toBe(1);
  });
});
