// A small W3C WebDriver client for driving the real Huddle window through tauri-driver
// (which forwards to WebKitWebDriver on Linux). Plain fetch, no dependencies.
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { inflateSync } from "node:zlib";

export const repoRoot = path.resolve(import.meta.dirname, "..", "..");
export const artifactsDir = path.join(repoRoot, "target", "e2e");

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor(what, fn, timeoutMs = 20000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError.message}` : ""}`);
}

/**
 * Starts tauri-driver on free ports; resolves once it answers /status. `env` is added to
 * the driver's environment, which the app inherits (WebKitWebDriver ignores per-session env).
 */
export async function startDriver(env = {}) {
  const port = await freePort();
  const nativePort = await freePort();
  const child = spawn("tauri-driver", ["--port", String(port), "--native-port", String(nativePort)], {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, ...env },
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const base = `http://127.0.0.1:${port}`;
  await waitFor("tauri-driver to listen", async () => {
    if (child.exitCode !== null) throw new Error(`tauri-driver exited with ${child.exitCode}`);
    const res = await fetch(`${base}/status`);
    return res.ok;
  });
  return {
    base,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await Promise.race([exited, sleep(5000)]);
      }
    },
  };
}

async function call(base, method, urlPath, body) {
  const res = await fetch(`${base}${urlPath}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok || (json.value && json.value.error)) {
    const e = json.value || {};
    throw new Error(`${method} ${urlPath} failed (${res.status}): ${e.error || ""} ${e.message || ""}`);
  }
  return json.value;
}

/**
 * Where the running PulseAudio server listens, and its cookie, so an app started with
 * another HOME still reaches it.
 */
function pulseEnv() {
  const env = {};
  try {
    const info = execFileSync("pactl", ["info"], { encoding: "utf8" });
    const server = info.match(/^Server String: (.+)$/m)?.[1]?.trim();
    if (server) env.PULSE_SERVER = server.startsWith("/") ? `unix:${server}` : server;
  } catch {
    // No PulseAudio: the app then reports its audio devices as missing.
  }
  const cookie = path.join(homedir(), ".config", "pulse", "cookie");
  if (existsSync(cookie)) env.PULSE_COOKIE = cookie;
  return env;
}

/** A private home so a test neither reads nor writes the user's settings and logs. */
export function privateHome() {
  const home = mkdtempSync(path.join(tmpdir(), "huddle-e2e-"));
  return {
    ...pulseEnv(),
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, "config"),
    XDG_STATE_HOME: path.join(home, "state"),
    XDG_DATA_HOME: path.join(home, "data"),
  };
}

/** The app under test: `HUDDLE_APP`, else the debug build. */
export const appBinary = process.env.HUDDLE_APP ?? path.join(repoRoot, "target", "debug", "huddle");

/**
 * Starts tauri-driver (its environment, which the app inherits, extended by `env`) and the
 * app in it. Returns both, and `close()`, which ends the two.
 */
export async function launchApp(env = privateHome()) {
  if (!existsSync(appBinary)) throw new Error(`${appBinary} is missing: build it with 'npx tauri build --debug'`);
  const driver = await startDriver(env);
  let app;
  try {
    app = await openApp(driver, appBinary);
  } catch (err) {
    await driver.stop();
    throw err;
  }
  return {
    driver,
    app,
    async close() {
      await app.close();
      await driver.stop();
    },
  };
}

/** One WebDriver session: the Huddle app started by the driver. */
export async function openApp(driver, application) {
  const caps = {
    capabilities: {
      alwaysMatch: {
        browserName: "wry",
        "tauri:options": { application, args: [] },
      },
    },
  };
  const value = await call(driver.base, "POST", "/session", caps);
  const id = value.sessionId;
  const s = `/session/${id}`;
  return {
    id,
    find: async (css) => (await call(driver.base, "POST", `${s}/element`, { using: "css selector", value: css }))[ELEMENT],
    findAll: async (css) =>
      (await call(driver.base, "POST", `${s}/elements`, { using: "css selector", value: css })).map((e) => e[ELEMENT]),
    text: (el) => call(driver.base, "GET", `${s}/element/${el}/text`),
    click: (el) => call(driver.base, "POST", `${s}/element/${el}/click`, {}),
    type: (el, text) => call(driver.base, "POST", `${s}/element/${el}/value`, { text }),
    clear: (el) => call(driver.base, "POST", `${s}/element/${el}/clear`, {}),
    rect: (el) => call(driver.base, "GET", `${s}/element/${el}/rect`),
    title: () => call(driver.base, "GET", `${s}/title`),
    setWindowRect: (rect) => call(driver.base, "POST", `${s}/window/rect`, rect),
    exec: (script, args = []) => call(driver.base, "POST", `${s}/execute/sync`, { script, args }),
    /** Script that waits: `arguments[arguments.length - 1]` is the callback to answer with. */
    execAsync: (script, args = []) => call(driver.base, "POST", `${s}/execute/async`, { script, args }),
    /** Commands after this go to the document inside the frame element `el`. */
    enterFrame: (el) => call(driver.base, "POST", `${s}/frame`, { id: { [ELEMENT]: el } }),
    /** Back to the top-level document. */
    leaveFrames: () => call(driver.base, "POST", `${s}/frame`, { id: null }),
    async screenshot(name) {
      const b64 = await call(driver.base, "GET", `${s}/screenshot`);
      const png = Buffer.from(b64, "base64");
      mkdirSync(artifactsDir, { recursive: true });
      const file = path.join(artifactsDir, `${name}.png`);
      writeFileSync(file, png);
      return { file, png };
    },
    close: () => call(driver.base, "DELETE", s).catch(() => undefined),
  };
}

/**
 * Decodes an 8-bit RGB/RGBA PNG (what WebKitWebDriver returns) into its pixel rows, so a
 * test can tell a rendered page from a blank one without image libraries.
 */
export function decodePng(png) {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error("not a PNG");
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat = [];
  while (offset < png.length) {
    const len = png.readUInt32BE(offset);
    const type = png.toString("ascii", offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8];
      const color = data[9];
      if (depth !== 8 || data[12] !== 0) throw new Error(`unsupported PNG (depth ${depth}, interlace ${data[12]})`);
      channels = { 2: 3, 6: 4, 0: 1, 4: 2 }[color];
      if (!channels) throw new Error(`unsupported PNG color type ${color}`);
    } else if (type === "IDAT") {
      idat.push(data);
    }
    offset += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[y * stride + x - channels] : 0;
      const b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels] : 0;
      let v = line[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + x] = v & 0xff;
    }
  }
  return { width, height, channels, pixels: out };
}

/** How many distinct colours (quantised) a decoded image has: ~1 for a blank window. */
export function distinctColours(img) {
  const seen = new Set();
  const { pixels, channels } = img;
  for (let i = 0; i + 2 < pixels.length; i += channels * 7) {
    seen.add(((pixels[i] >> 3) << 10) | ((pixels[i + 1] >> 3) << 5) | (pixels[i + 2] >> 3));
  }
  return seen.size;
}

export function writeArtifact(name, text) {
  mkdirSync(artifactsDir, { recursive: true });
  writeFileSync(path.join(artifactsDir, name), text);
}
