// The pre-join screen as a person meets it: on a 1366×768 laptop everything needed to join
// is on screen without scrolling (the network figures folded away); at 1024×640 and with
// text at 200 % nothing is cut off (scrolling allowed); and with the sound server stopped
// the microphone says so in words, with the technical account behind "Details".
// Screenshots go to target/e2e/ (prejoin-1366x768.png, prejoin-1024x640.png,
// prejoin-text-200.png, prejoin-dark.png, prejoin-no-sound.png).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { launchApp, privateHome, repoRoot, sleep, waitFor } from "./webdriver.mjs";

/** What must be seen to join: the join button, the preview, the level meter, the grade. */
const ESSENTIALS = ["button[type=submit]", "#preview", "#mic-level", "#nettest-grade"];

/** Whether a rect lies within a viewport, give or take the half pixel of rounding. */
const within = (r, view) => r.left >= -1 && r.top >= -1 && r.right <= view.width + 1 && r.bottom <= view.height + 1;

/** The viewport, the page's scrollable size, and each element's rect in the viewport. */
const measure = (app, selectors) =>
  app.exec(
    `const rects = {};
     for (const css of arguments[0]) {
       const el = document.querySelector(css);
       const r = el?.getBoundingClientRect();
       rects[css] = r ? { left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height } : null;
     }
     const page = document.scrollingElement;
     return { width: innerWidth, height: innerHeight, scrollWidth: page.scrollWidth, scrollHeight: page.scrollHeight, rects };`,
    [selectors],
  );

async function resize(app, width, height) {
  await app.setWindowRect({ width, height });
  return waitFor(`a ${width}x${height} viewport`, async () => {
    const m = await measure(app, []);
    return m.width === width && m.height === height ? m : null;
  }, 10000);
}

async function runNetworkTest(app) {
  await app.click(await app.find("#nettest-start"));
  return waitFor("the network grade", async () => {
    const errs = await app.findAll("#nettest-error");
    if (errs.length > 0) throw new Error(await app.text(errs[0]));
    const found = await app.findAll("#nettest-grade");
    return found.length > 0 ? app.text(found[0]) : null;
  }, 20000, 200);
}

describe("the layout", () => {
  let launched;
  let app;

  before(async () => {
    launched = await launchApp();
    app = launched.app;
    await waitFor("the device check", async () => (await app.findAll("#mic-level")).length > 0);
  });

  after(async () => {
    await launched?.close();
  });

  test("at 1366×768 the join button, preview, meter and network grade fit without scrolling", async () => {
    await resize(app, 1366, 768);
    assert.equal(await runNetworkTest(app), "Good");
    await sleep(300);
    const m = await measure(app, ESSENTIALS);
    for (const css of ESSENTIALS) {
      const r = m.rects[css];
      assert.ok(r && r.width > 0 && r.height > 0, `${css} is laid out: ${JSON.stringify(r)}`);
      assert.ok(within(r, m), `${css} lies within the ${m.width}x${m.height} viewport: ${JSON.stringify(r)}`);
    }
    assert.ok(m.scrollHeight <= m.height && m.scrollWidth <= m.width,
      `nothing to scroll: page ${m.scrollWidth}x${m.scrollHeight} in ${m.width}x${m.height}`);
    assert.ok(m.rects["#preview"].width >= 400, `the preview is large enough to judge: ${JSON.stringify(m.rects["#preview"])}`);
    await app.screenshot("prejoin-1366x768");
  });

  test("the network figures are folded away until asked for", async () => {
    const open = () => app.exec(`return document.getElementById("nettest-details").open;`);
    assert.equal(await open(), false);
    assert.equal(await shown(app, "#nettest-figures"), false, "the figures are hidden");
    await app.click(await app.find("#nettest-details summary"));
    assert.equal(await open(), true);
    assert.equal(await shown(app, "#nettest-figures"), true, "the figures are shown");
    const figures = await app.text(await app.find("#nettest-figures"));
    assert.match(figures, /Round trip\s+\d+(\.\d)? ms/);
    assert.match(figures, /Packet loss\s+0\.0 %/);
    await app.click(await app.find("#nettest-details summary"));
  });

  test("at 1024×640 nothing is cut off, and what is below the fold scrolls into view", async () => {
    const m = await resize(app, 1024, 640);
    assert.ok(m.scrollWidth <= m.width, `no sideways scrolling: ${m.scrollWidth} in ${m.width}`);
    await app.screenshot("prejoin-1024x640");
    await assertReachable(app, ESSENTIALS);
  });

  test("with text at 200 % the screen reflows: no sideways scrolling, everything reachable", async () => {
    await resize(app, 1366, 768);
    // What the system's text scaling does to the page: the root font size doubles (every
    // size on the screen is in rem).
    const base = await app.exec(`return parseFloat(getComputedStyle(document.documentElement).fontSize);`);
    await app.exec(`document.documentElement.style.fontSize = (arguments[0] * 2) + "px"; return true;`, [base]);
    try {
      await sleep(300);
      const m = await measure(app, ESSENTIALS);
      assert.ok(m.scrollWidth <= m.width, `no sideways scrolling: ${m.scrollWidth} in ${m.width}`);
      for (const css of ESSENTIALS) {
        const r = m.rects[css];
        assert.ok(r && r.left >= 0 && r.right <= m.width, `${css} fits the width: ${JSON.stringify(r)}`);
      }
      const label = await app.exec(`return parseFloat(getComputedStyle(document.querySelector("label > span")).fontSize);`);
      assert.ok(label >= base * 1.9, `the text did grow (${label}px from a ${base}px root)`);
      await app.exec(`window.scrollTo(0, 0); return true;`);
      await app.screenshot("prejoin-text-200");
      await assertReachable(app, ESSENTIALS);
    } finally {
      await app.exec(`document.documentElement.style.fontSize = ""; window.scrollTo(0, 0); return true;`);
    }
  });

  test("Appearance switches to dark colours at once, and back", async () => {
    await resize(app, 1366, 768);
    // The page's background as relative luminance, 0 (black) to 1 (white).
    const luminance = () =>
      app.exec(`const [r, g, b] = getComputedStyle(document.documentElement).backgroundColor.match(/\\d+/g).map(Number);
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;`);
    const choose = (theme) =>
      app.exec(`const el = document.getElementById("theme");
        el.value = arguments[0];
        el.dispatchEvent(new Event("change", { bubbles: true }));
        return true;`, [theme]);
    try {
      await choose("light");
      await waitFor("light colours", async () => (await luminance()) > 0.8, 3000);
      await choose("dark");
      await waitFor("dark colours", async () => (await luminance()) < 0.2, 3000);
      assert.equal(await app.exec(`return document.documentElement.dataset.theme;`), "dark");
      await sleep(200);
      await app.screenshot("prejoin-dark");
    } finally {
      await choose("system");
    }
  });
});

/** Whether an element is drawn (the inside of a closed <details> is not). */
const shown = (app, css) => app.exec(`return document.querySelector(arguments[0]).checkVisibility();`, [css]);

/** Each element, scrolled into view, lies wholly within the viewport. */
async function assertReachable(app, selectors) {
  for (const css of selectors) {
    const r = await app.exec(
      `const el = document.querySelector(arguments[0]);
       el.scrollIntoView({ block: "nearest", inline: "nearest" });
       const r = el.getBoundingClientRect();
       return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: innerWidth, height: innerHeight };`,
      [css],
    );
    assert.ok(within(r, r), `${css} can be scrolled into view: ${JSON.stringify(r)}`);
  }
  await app.exec(`window.scrollTo(0, 0); return true;`);
}

/**
 * The PulseAudio daemon tests/env/start-pulse.sh started (its pid, from the pid file next to
 * its socket), or null when the sound server is someone else's, such as a desktop session's,
 * which a test must not stop.
 */
function testPulseDaemon() {
  let info;
  try {
    info = execFileSync("pactl", ["info"], { encoding: "utf8" });
  } catch {
    return null;
  }
  const socket = info.match(/^Server String: (\/.+)$/m)?.[1]?.trim();
  if (!socket) return null;
  try {
    const pid = Number(readFileSync(path.join(path.dirname(socket), "pid"), "utf8").trim());
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmdline.includes("huddle-pulse.log") ? pid : null;
  } catch {
    return null;
  }
}

const pulseAnswers = () => {
  try {
    execFileSync("pactl", ["info"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};

describe("without a sound server", () => {
  let launched;
  let app;
  let stopped = false;

  before(async () => {
    const env = privateHome();
    const pid = testPulseDaemon();
    if (pid) {
      // Stop the tests' own daemon; `after` starts it again for the tests that follow.
      process.kill(pid, "SIGTERM");
      stopped = true;
      await waitFor("PulseAudio to stop", async () => !pulseAnswers(), 10000);
    } else {
      // Not ours to stop: point the app at a sound server that is not there instead, which
      // it meets the same way (the connection is refused).
      env.PULSE_SERVER = `unix:${path.join(env.HOME, "no-pulse", "native")}`;
    }
    launched = await launchApp(env);
    app = launched.app;
  });

  after(async () => {
    await launched?.close();
    if (stopped) execFileSync(path.join(repoRoot, "tests", "env", "start-pulse.sh"), { stdio: "inherit" });
  });

  test("the microphone says in words that the sound system isn't running, with the detail behind 'Details'", async () => {
    const note = await waitFor("the microphone's error", async () => {
      const found = await app.findAll("#microphone-error");
      return found.length > 0 ? found[0] : null;
    });
    const message = await app.text(await app.find("#microphone-error .message"));
    assert.equal(message,
      "No microphone is available: the sound system isn't running. Check that audio is on, or pick another microphone.");
    assert.equal(await app.exec(`return document.getElementById("microphone-error").dataset.kind;`), "sound_system_down");
    assert.equal(await shown(app, "#microphone-error .detail"), false, "the detail is folded away");
    await app.click(await app.find("#microphone-error summary"));
    assert.equal(await shown(app, "#microphone-error .detail"), true, "'Details' shows it");
    const technical = await app.text(await app.find("#microphone-error .detail"));
    assert.match(technical, /sound system is not running/);
    assert.match(technical, /snd_pcm_open/);
    assert.match(technical, /Connection refused/);
    assert.ok(await app.text(note));
    await sleep(300);
    await app.screenshot("prejoin-no-sound");
  });

  test("the test sound says the same of the speaker", async () => {
    await app.click(await app.find("#test-sound"));
    const message = await waitFor("the speaker's error", async () => {
      const found = await app.findAll("#speaker-error .message");
      return found.length > 0 ? app.text(found[0]) : null;
    });
    assert.equal(message,
      "No speaker is available: the sound system isn't running. Check that audio is on, or pick another speaker.");
  });
});
