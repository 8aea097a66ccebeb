// What the app's webview can draw, without any video behind it: drives the real app through
// tauri-driver (under Xvfb), stops the pre-join preview and meter, then lays out N canvases
// styled like call tiles over the page and redraws all of them on every animation frame for
// a few seconds with the app's own tile renderers (ui/src/lib/video.ts, bundled for the page
// here), printing animation frames per second for each variant:
//   - idle: nothing drawn (the page's own animation-frame rate);
//   - 2d:  the I420 frame converted to RGBA in JavaScript and put with putImageData, as the
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
// Vite's own bundler, already installed with it.
import { buildSync } from "esbuild";
import { openApp, privateHome, repoRoot, sleep, startDriver, waitFor } from "../e2e/webdriver.mjs";

const application = realpathSync(process.argv[2] ?? path.join(repoRoot, "target", "debug", "huddle"));
const seconds = Number(process.argv[3] ?? 5);
const [width, height] = (process.argv[4] ?? "640x360").split("x").map(Number);

// The renderers the tiles use, as one script that sets `window.huddleProbe`.
const RENDERERS = buildSync({
  stdin: {
    contents: `export { createRenderer } from "./ui/src/lib/video.ts";`,
    resolveDir: repoRoot,
    loader: "ts",
  },
  bundle: true,
  format: "iife",
  globalName: "huddleProbe",
  write: false,
}).outputFiles[0].text;

// Runs inside the page: returns animation frames per second over `ms`.
const PAGE = `
const [kind, count, attr, ms, width, height] = arguments;
const host = document.createElement("div");
host.style.cssText = "position:fixed;inset:0;z-index:99;display:grid;gap:8px;padding:8px;background:#111;" +
  "grid-template-columns:repeat(" + Math.ceil(Math.sqrt(Math.max(count, 1))) + ",1fr);align-content:center";
document.body.appendChild(host);
const frame = {
  width, height, skipped: 0,
  y: new Uint8Array(width * height),
  u: new Uint8Array((width / 2) * (height / 2)),
  v: new Uint8Array((width / 2) * (height / 2)),
};
const draws = [];
for (let i = 0; i < count; i++) {
  const tile = document.createElement("div");
  tile.style.cssText = "position:relative;aspect-ratio:16/9;border-radius:12px;overflow:hidden;background:#222";
  const canvas = document.createElement("canvas");
  canvas.style.cssText = "position:absolute;inset:0;width:100%;height:100%;object-fit:contain";
  tile.appendChild(canvas);
  host.appendChild(tile);
  const renderer = window.huddleProbe.createRenderer(canvas, kind === "webgl");
  if (renderer.kind !== kind) throw new Error("asked for " + kind + ", got " + renderer.kind);
  draws.push({ renderer, tile });
}
return new Promise((resolve) => {
  let frames = 0;
  const start = performance.now();
  const step = () => {
    frames++;
    // A moving picture: the luma ramp shifts every frame, so no upload can be skipped.
    for (let i = 0; i < frame.y.length; i++) frame.y[i] = (i + frames * 7) & 255;
    frame.u.fill((frames * 3) & 255);
    frame.v.fill((frames * 5) & 255);
    for (const d of draws) {
      d.renderer.draw(frame);
      if (attr) d.tile.dataset.frames = String(frames);
    }
    if (performance.now() - start < ms) requestAnimationFrame(step);
    else {
      for (const d of draws) d.renderer.destroy();
      host.remove();
      resolve(frames / ((performance.now() - start) / 1000));
    }
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
  await app.exec(`${RENDERERS}; window.huddleProbe = huddleProbe; return true;`);
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
