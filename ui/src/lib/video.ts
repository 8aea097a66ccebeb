// Draws I420 frames (the layout of i420.ts) on a canvas: WebGL when the webview has it (the
// three planes uploaded as luminance textures, converted in a shader), else a 2D canvas with
// the conversion in JavaScript. Frames come from the app's loopback video socket one at a
// time: the next is sent once this one is drawn, so when the page falls behind the app
// drops frames (and says how many in the next frame's header) rather than queueing them.
import { invoke } from "@tauri-apps/api/core";
import { i420ToRgba, parseFrame, type Frame } from "./i420";

/**
 * What a canvas shows: `preview` (the pre-join camera) or `tile:<participant id>` (a call
 * member's video; my own id shows my camera as the call captures it).
 */
export type VideoSource = "preview" | `tile:${number}` | `screen:${number}`;

interface Endpoint {
  url: string;
  token: string;
  /** No GPU: a 2D canvas draws faster than WebGL there. */
  softwareRendering: boolean;
}
let endpoint: Promise<Endpoint> | null = null;

function videoEndpoint(): Promise<Endpoint> {
  endpoint ??= invoke<Endpoint>("video_endpoint").catch((err) => {
    endpoint = null;
    throw err;
  });
  return endpoint;
}

/** Whether the webview composites in software (then tiles draw with a 2D canvas). */
export async function softwareRendering(): Promise<boolean> {
  return (await videoEndpoint()).softwareRendering;
}

/**
 * Streams a source's frames into `sink` over the app's loopback video socket (Tauri's
 * channels are too slow for video on WebKitGTK; docs/BENCHMARKS.md). The sink acknowledges
 * each frame once drawn, which lets the app send the next. Resolves to a function that stops
 * the stream.
 */
export async function streamVideo(source: VideoSource, sink: FrameSink): Promise<() => void> {
  const e = await videoEndpoint();
  const ws = new WebSocket(`${e.url}?token=${encodeURIComponent(e.token)}&source=${encodeURIComponent(source)}`);
  ws.binaryType = "arraybuffer";
  sink.ack = () => {
    if (ws.readyState === WebSocket.OPEN) ws.send("a");
  };
  ws.onmessage = (m) => {
    if (m.data instanceof ArrayBuffer) sink.push(m.data);
  };
  return () => ws.close();
}

export interface Renderer {
  readonly kind: "webgl" | "2d";
  draw(frame: Frame): void;
  destroy(): void;
}

const VERTEX = `attribute vec2 pos;
varying vec2 uv;
void main() {
  uv = vec2((pos.x + 1.0) * 0.5, (1.0 - pos.y) * 0.5);
  gl_Position = vec4(pos, 0.0, 1.0);
}`;

// BT.601 limited range, as the camera pipeline and the decoder produce.
const FRAGMENT = `precision mediump float;
varying vec2 uv;
uniform sampler2D ty;
uniform sampler2D tu;
uniform sampler2D tv;
void main() {
  float y = 1.164 * (texture2D(ty, uv).r - 0.0625);
  float u = texture2D(tu, uv).r - 0.5;
  float v = texture2D(tv, uv).r - 0.5;
  gl_FragColor = vec4(y + 1.596 * v, y - 0.392 * u - 0.813 * v, y + 2.017 * u, 1.0);
}`;

function compile(gl: WebGLRenderingContext, type: number, source: string): WebGLShader | null {
  const shader = gl.createShader(type);
  if (!shader) return null;
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  return gl.getShaderParameter(shader, gl.COMPILE_STATUS) ? shader : null;
}

function webglRenderer(canvas: HTMLCanvasElement): Renderer | null {
  const gl = canvas.getContext("webgl", { alpha: false, antialias: false, preserveDrawingBuffer: true });
  if (!gl) return null;
  const vs = compile(gl, gl.VERTEX_SHADER, VERTEX);
  const fs = compile(gl, gl.FRAGMENT_SHADER, FRAGMENT);
  const program = gl.createProgram();
  if (!vs || !fs || !program) return null;
  gl.attachShader(program, vs);
  gl.attachShader(program, fs);
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) return null;
  gl.useProgram(program);
  const quad = gl.createBuffer();
  gl.bindBuffer(gl.ARRAY_BUFFER, quad);
  gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
  const pos = gl.getAttribLocation(program, "pos");
  gl.enableVertexAttribArray(pos);
  gl.vertexAttribPointer(pos, 2, gl.FLOAT, false, 0, 0);
  const textures = (["ty", "tu", "tv"] as const).map((name, unit) => {
    const t = gl.createTexture();
    gl.activeTexture(gl.TEXTURE0 + unit);
    gl.bindTexture(gl.TEXTURE_2D, t);
    for (const p of [gl.TEXTURE_WRAP_S, gl.TEXTURE_WRAP_T]) gl.texParameteri(gl.TEXTURE_2D, p, gl.CLAMP_TO_EDGE);
    for (const p of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) gl.texParameteri(gl.TEXTURE_2D, p, gl.LINEAR);
    gl.uniform1i(gl.getUniformLocation(program, name), unit);
    return t;
  });
  // Plane rows are tightly packed; odd chroma widths must not be padded to 4 bytes.
  gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  return {
    kind: "webgl",
    draw(f) {
      if (canvas.width !== f.width || canvas.height !== f.height) {
        canvas.width = f.width;
        canvas.height = f.height;
      }
      gl.viewport(0, 0, f.width, f.height);
      const planes: [Uint8Array, number, number][] = [
        [f.y, f.width, f.height],
        [f.u, f.width / 2, f.height / 2],
        [f.v, f.width / 2, f.height / 2],
      ];
      planes.forEach(([data, w, h], unit) => {
        gl.activeTexture(gl.TEXTURE0 + unit);
        gl.bindTexture(gl.TEXTURE_2D, textures[unit]);
        gl.texImage2D(gl.TEXTURE_2D, 0, gl.LUMINANCE, w, h, 0, gl.LUMINANCE, gl.UNSIGNED_BYTE, data);
      });
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    },
    destroy() {
      gl.getExtension("WEBGL_lose_context")?.loseContext();
    },
  };
}

function canvasRenderer(canvas: HTMLCanvasElement): Renderer {
  let image: ImageData | null = null;
  return {
    kind: "2d",
    draw(f) {
      if (canvas.width !== f.width || canvas.height !== f.height || !image) {
        canvas.width = f.width;
        canvas.height = f.height;
        image = new ImageData(f.width, f.height);
      }
      i420ToRgba(f, image.data);
      canvas.getContext("2d")?.putImageData(image, 0, 0);
    },
    destroy() {},
  };
}

export function createRenderer(canvas: HTMLCanvasElement, preferWebgl = true): Renderer {
  return (preferWebgl ? webglRenderer(canvas) : null) ?? canvasRenderer(canvas);
}

/**
 * Takes frames as they arrive and draws the newest once per animation frame, then
 * acknowledges it: the app sends the next frame only then, so the page receives no more
 * frames than it draws (a busy page costs frames dropped in the app, before any copy).
 * Counts what was drawn and what was dropped: malformed, replaced before it could be drawn
 * (only after the app's one-second timeout), or dropped by the app (the header's count).
 */
export class FrameSink {
  drawn = 0;
  dropped = 0;
  private pending: Frame | null = null;
  private scheduled = false;

  constructor(
    private renderer: Renderer,
    private schedule: (cb: () => void) => void = (cb) => requestAnimationFrame(cb),
    private onDraw: (drawn: number) => void = () => {},
    /** Tells the sender a frame arrived; set by whoever feeds the sink. */
    public ack: () => void = () => {},
  ) {}

  push(buffer: ArrayBuffer): void {
    const frame = parseFrame(buffer);
    if (!frame) {
      this.dropped++;
      this.ack();
      return;
    }
    this.dropped += frame.skipped;
    if (this.pending) this.dropped++;
    this.pending = frame;
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    const frame = this.pending;
    this.pending = null;
    if (!frame) return;
    this.renderer.draw(frame);
    this.drawn++;
    this.ack();
    this.onDraw(this.drawn);
  }
}
