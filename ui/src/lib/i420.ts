// Decoding of the preview frames the Rust side sends: an 8-byte header (width, height as
// little-endian u32) and the I420 planes, converted to RGBA for a 2D canvas (BT.601, limited
// range, as the camera pipeline produces).

export interface Frame {
  width: number;
  height: number;
  y: Uint8Array;
  u: Uint8Array;
  v: Uint8Array;
}

/** Parses a frame message; null when it is malformed (wrong size or odd dimensions). */
export function parseFrame(buffer: ArrayBuffer): Frame | null {
  if (buffer.byteLength < 8) return null;
  const view = new DataView(buffer);
  const width = view.getUint32(0, true);
  const height = view.getUint32(4, true);
  if (width === 0 || height === 0 || width % 2 !== 0 || height % 2 !== 0 || width > 4096 || height > 4096)
    return null;
  const ySize = width * height;
  const cSize = ySize / 4;
  if (buffer.byteLength !== 8 + ySize + 2 * cSize) return null;
  return {
    width,
    height,
    y: new Uint8Array(buffer, 8, ySize),
    u: new Uint8Array(buffer, 8 + ySize, cSize),
    v: new Uint8Array(buffer, 8 + ySize + cSize, cSize),
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
