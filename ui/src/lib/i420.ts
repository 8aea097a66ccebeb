// Decoding of the video frames the Rust side sends (src-tauri/src/frames.rs): a 12-byte
// header (width, height, and the frames dropped before this one, little-endian u32) and the
// I420 planes, converted to RGBA for a 2D canvas (BT.601, limited
// range, as the camera pipeline produces).

export const HEADER_BYTES = 12;

export interface Frame {
  width: number;
  height: number;
  /** Frames the app dropped, since the one before this, because the page was still busy. */
  skipped: number;
  y: Uint8Array;
  u: Uint8Array;
  v: Uint8Array;
}

/** Parses a frame message; null when it is malformed (wrong size or odd dimensions). */
export function parseFrame(buffer: ArrayBuffer): Frame | null {
  if (buffer.byteLength < HEADER_BYTES) return null;
  const view = new DataView(buffer);
  const width = view.getUint32(0, true);
  const height = view.getUint32(4, true);
  const skipped = view.getUint32(8, true);
  if (width === 0 || height === 0 || width % 2 !== 0 || height % 2 !== 0 || width > 4096 || height > 4096)
    return null;
  const ySize = width * height;
  const cSize = ySize / 4;
  if (buffer.byteLength !== HEADER_BYTES + ySize + 2 * cSize) return null;
  return {
    width,
    height,
    skipped,
    y: new Uint8Array(buffer, HEADER_BYTES, ySize),
    u: new Uint8Array(buffer, HEADER_BYTES + ySize, cSize),
    v: new Uint8Array(buffer, HEADER_BYTES + ySize + cSize, cSize),
  };
}

const clamp = (x: number) => (x < 0 ? 0 : x > 255 ? 255 : x);

/** Writes the frame into `out` (width * height * 4 bytes, RGBA). */
export function i420ToRgba(f: Frame, out: Uint8ClampedArray): void {
  const { width, height, y, u, v } = f;
  const cw = width >> 1;
  for (let row = 0; row < height; row++) {
    const crow = (row >> 1) * cw;
    for (let col = 0; col < width; col++) {
      const c = crow + (col >> 1);
      const yy = 1.164 * (y[row * width + col] - 16);
      const uu = u[c] - 128;
      const vv = v[c] - 128;
      const o = (row * width + col) * 4;
      out[o] = clamp(yy + 1.596 * vv);
      out[o + 1] = clamp(yy - 0.392 * uu - 0.813 * vv);
      out[o + 2] = clamp(yy + 2.017 * uu);
      out[o + 3] = 255;
    }
  }
}
