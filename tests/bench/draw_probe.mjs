// What the app's webview can draw, without any video behind it: drives the real app through
// tauri-driver (under Xvfb), stops the pre-join preview and meter, then lays out N canvases
// styled like call tiles over the page and redraws all of them on every animation frame for
// a few seconds, printing animation frames per second for each variant:
//   - idle: nothing drawn (the page's own animation-frame rate);
//   - 2d:  an I420 frame converted to RGBA in JavaScript and put with putImageData, as the
//          tiles do where the webview composites in software;
//   - webgl: the three planes uploaded as luminance textures and drawn by a shader;
//   - "+attr": each canvas's tile also gets a data attribute changed every frame, as the
//          tiles' `data-frames` counter does.
// Variants run back to back in one app, so they compare on the same machine state.
//
// Usage (under a display or xvfb-run, with dbus-run-session):
//   node tests/bench/draw_probe.mjs [app-binary] [seconds per variant] [WxH]
import { realpathSync } from "node:fs";
import path from "node:path";
import { openApp, privateHome, repoRoot, sleep, startDriver, waitFor } from "../e2e/webdriver.mjs";

const application = realpathSync(process.argv[2] ?? path.join(repoRoot, "target", "debug", "huddle"));
const seconds = Number(process.argv[3] ?? 5);
const [width, height] = (process.argv[4] ?? "640x360").split("x").map(Number);

// Runs inside the page: returns animation frames per second over `ms`.
const PAGE = `
const [kind, count, attr, ms, w, h] = arguments;
const host = document.createElement("div");
host.style.cssText = "position:fixed;inset:0;z-index:99;display:grid;gap:8px;padding:8px;background:#111;" +
  "grid-template-columns:repeat(" + Math.ceil(Math.sqrt(Math.max(count, 1))) + ",1fr);align-content:center";
document.body.appendChild(host);
const y = new Uint8Array(w * h), u = new Uint8Array((w / 2) * (h / 2)), v = new Uint8Array((w / 2) * (h / 2));
const draws = [];
for (let i = 0; i < count; i++) {
  const tile = document.createElement("div");
  tile.style.cssText = "position:relative;aspect-ratio:16/9;border-radius:12px;overflow:hidden;background:#222";
  const c = document.createElement("canvas");
  c.width = w; c.height = h;
  c.style.cssText = "position:absolute;inset:0;width:100%;height:100%;object-fit:contain";
  tile.appendChild(c);
  host.appendChild(tile);
  if (kind === "2d") {
    const ctx = c.getContext("2d");
    const img = new ImageData(w, h);
    const px = img.data;
    draws.push((n) => {
      for (let r = 0; r < h; r++) {
        for (let col = 0; col < w; col++) {
          const Y = 1.164 * (y[r * w + col] - 16), ci = (r >> 1) * (w >> 1) + (col >> 1);
          const U = u[ci] - 128, V = v[ci] - 128, o = (r * w + col) * 4;
          px[o] = Y + 1.596 * V; px[o + 1] = Y - 0.392 * U - 0.813 * V; px[o + 2] = Y + 2.017 * U; px[o + 3] = 255;
        }
      }
      ctx.putImageData(img, 0, 0);
      if (attr) tile.dataset.frames = String(n);
    });
  } else if (kind === "webgl") {
    const gl = c.getContext("webgl", { alpha: false, antialias: false, preserveDrawingBuffer: true });
    const sh = (t, s) => { const x = gl.createShader(t); gl.shaderSource(x, s); gl.compileShader(x); return x; };
    const p = gl.createProgram();
    gl.attachShader(p, sh(gl.VERTEX_SHADER, "attribute vec2 a;varying vec2 t;void main(){t=vec2((a.x+1.)*.5,(1.-a.y)*.5);gl_Position=vec4(a,0.,1.);}"));
    gl.attachShader(p, sh(gl.FRAGMENT_SHADER, "precision mediump float;varying vec2 t;uniform sampler2D ty,tu,tv;void main(){float Y=1.164*(texture2D(ty,t).r-.0625),U=texture2D(tu,t).r-.5,V=texture2D(tv,t).r-.5;gl_FragColor=vec4(Y+1.596*V,Y-.392*U-.813*V,Y+2.017*U,1.);}"));
    gl.linkProgram(p); gl.useProgram(p);
    gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
    gl.enableVertexAttribArray(0); gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    const tex = ["ty", "tu", "tv"].map((name, unit) => {
      const t = gl.createTexture(); gl.activeTexture(gl.TEXTURE0 + unit); gl.bindTexture(gl.TEXTURE_2D, t);
      for (const q of [gl.TEXTURE_WRAP_S, gl.TEXTURE_WRAP_T]) gl.texParameteri(gl.TEXTURE_2D, q, gl.CLAMP_TO_EDGE);
      for (const q of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) gl.texParameteri(gl.TEXTURE_2D, q, gl.LINEAR);
      gl.uniform1i(gl.getUniformLocation(p, name), unit); return t;
    });
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    draws.push((n) => {
      [[y, w, h], [u, w / 2, h / 2], [v, w / 2, h / 2]].forEach(([d, pw, ph], unit) => {
        gl.activeTexture(gl.TEXTURE0 + unit); gl.bindTexture(gl.TEXTURE_2D, tex[unit]);
        gl.texImage2D(gl.TEXTURE_2D, 0, gl.LUMINANCE, pw, ph, 0, gl.LUMINANCE, gl.UNSIGNED_BYTE, d);
      });
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
      if (attr) tile.dataset.frames = String(n);
    });
  }
}
return new Promise((resolve) => {
  let frames = 0;
  const start = performance.now();
  const step = () => {
    frames++;
    // A moving picture: the luma ramp shifts every frame, so no upload can be skipped.
    for (let i = 0; i < y.length; i += 1) y[i] = (i + frames * 7) & 255;
    u.fill((frames * 3) & 255); v.fill((frames * 5) & 255);
    for (const d of draws) d(frames);
    if (performance.now() - start < ms) requestAnimationFrame(step);
    else { host.remove(); resolve(frames / ((performance.now() - start) / 1000)); }
  };
  requestAnimationFrame(step);
});`;

const driver = await startDriver(privateHome());
const app = await openApp(driver, application);
try {
  await waitFor("the pre-join screen", async () => (await app.findAll("#prejoin-title")).length > 0, 30000);
  // Devices opened by the pre-join screen would draw and take CPU beside the probe.
  await sleep(2000);
  await app.exec(
    `const i = window.__TAURI_INTERNALS__; return Promise.all([i.invoke("preview_stop"), i.invoke("meter_stop")]).then(() => true);`,
  );
  const variants = [
    ["idle", 0, false],
    ["2d", 1, false],
    ["2d", 4, false],
    ["2d", 4, true],
    ["2d", 9, false],
    ["webgl", 1, false],
    ["webgl", 4, false],
    ["webgl", 4, true],
  ];
  console.log(`draw probe: ${width}x${height} canvases, ${seconds} s per variant`);
  for (const [kind, count, attr] of variants) {
    const fps = await app.exec(PAGE, [kind, count, attr, seconds * 1000, width, height]);
    const label = kind === "idle" ? "idle page" : `${count} × ${kind}${attr ? " +attr" : ""}`;
    console.log(`${label.padEnd(16)} ${Number(fps).toFixed(1)} animation frames/s`);
  }
} finally {
  await app.close();
  await driver.stop();
}
