// A member's volume end to end: the real app joins its embedded server with a headless member
// talking (huddle-cli's synthetic speech) and one silent, and the level the app plays is
// measured on the PulseAudio null sink's monitor (parec) while the volume slider in the
// member's row menu moves: at 25 % it is about 12 dB down, at 0 % silent. (That the other
// members keep their level is measured with tones, apart, in crates/client/tests/call_volume.rs:
// speech's level over a few seconds varies too much to tell a member's share of a mix.)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { openApp, privateHome, repoRoot, sleep, startDriver, waitFor } from "./webdriver.mjs";

const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, "target");
const application = process.env.HUDDLE_APP ?? path.join(repoRoot, "target", "debug", "huddle");
const cli = process.env.HUDDLE_CLI ?? path.join(targetDir, "debug", "huddle-cli");

let driver;
let app;
let address;
const members = [];

/** A headless member talking (synthetic speech with its own seed), without a camera. */
function talker(session, name, seed, extra = []) {
  const child = spawn(
    cli,
    ["join", `ws://${address}/v1/ws`, session, "--name", name, "--json", "--camera", "none", "--seed", String(seed), ...extra],
    { stdio: ["pipe", "ignore", "inherit"] },
  );
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end();
        const done = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
        if (!done) child.kill("SIGTERM");
      }
    },
  };
}

/**
 * The level the sink plays, in dBFS: `seconds` from its monitor, cut into 100 ms blocks, the
 * loudest fifth left out and the next block taken (the speech's active level, which the
 * pauses between its words do not pull down).
 */
function record(seconds = 8) {
  let raw;
  try {
    raw = execFileSync(
      "timeout",
      [String(seconds), "parec", "-d", "huddle_sink.monitor", "--raw", "--format=float32le", "--rate=48000", "--channels=1"],
      { maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "ignore"] },
    );
  } catch (err) {
    // `timeout` ends parec with a non-zero status; what it recorded is what counts.
    raw = err.stdout;
  }
  const samples = new Float32Array(raw.buffer, raw.byteOffset, Math.floor(raw.length / 4));
  const block = 4800;
  const levels = [];
  for (let i = 0; i + block <= samples.length; i += block) {
    let power = 0;
    for (let j = i; j < i + block; j++) power += samples[j] * samples[j];
    levels.push(10 * Math.log10(Math.max(power / block, 1e-12)));
  }
  levels.sort((a, b) => a - b);
  return levels.length ? levels[Math.floor(levels.length * 0.8)] : -120;
}

async function level(what) {
  // What was queued before the change plays out first.
  await sleep(800);
  const dbfs = record();
  console.log(`${what}: ${dbfs.toFixed(1)} dBFS on the sink`);
  return dbfs;
}

const rows = () =>
  app.exec(`return [...document.querySelectorAll("li.member")].map((li) => ({
    id: Number(li.dataset.member), name: li.querySelector(".name").textContent, muted: li.dataset.muted === "true" }));`);

/** Moves the volume slider in `name`'s row menu to `percent`, as a drag would. */
async function setVolume(name, percent) {
  const row = (await rows()).find((r) => r.name === name);
  const menu = `li.member[data-member="${row.id}"]`;
  if ((await app.findAll(`${menu} input[name=memberVolume]`)).length === 0) {
    await app.click(await app.find(`${menu} button.more`));
  }
  await app.exec(
    `const el = document.querySelector(arguments[0]);
     el.value = String(arguments[1]);
     el.dispatchEvent(new Event("input", { bubbles: true }));`,
    [`${menu} input[name=memberVolume]`, percent],
  );
  await waitFor(`${name} at ${percent} %`, async () =>
    (await app.text(await app.find(`${menu} .volume output`))) === `${percent} %`, 5000);
}

before(async () => {
  assert.ok(existsSync(application), `${application} is missing: build it with 'npx tauri build --debug'`);
  assert.ok(existsSync(cli), `${cli} is missing`);
  execFileSync(path.join(repoRoot, "tests", "env", "start-pulse.sh"), { stdio: "inherit" });
  driver = await startDriver(privateHome());
  app = await openApp(driver, application);
  const status = await waitFor("the embedded server", async () => {
    const text = await app.text(await app.find("#host-status"));
    return text.startsWith("Hosting on this computer") ? text : null;
  });
  address = status.match(/at (\S+:\d+)\./)?.[1];
  assert.ok(address, `status names an address: ${status}`);
});

after(async () => {
  await Promise.all(members.map((m) => m.stop()));
  await app?.close();
  await driver?.stop();
});

test("a member's volume slider changes the level played for that member", async () => {
  const session = "E2E Volumes";
  await waitFor("the pre-join form", async () => (await app.findAll("input[name=sessionName]")).length > 0);
  for (const [field, value] of [
    ["displayName", "Ann"],
    ["sessionName", session],
  ]) {
    await app.exec(
      `const el = document.querySelector("input[name=" + arguments[0] + "]");
       el.value = arguments[1];
       el.dispatchEvent(new Event("input", { bubbles: true }));`,
      [field, value],
    );
  }
  await app.click(await app.find("button[type=submit]"));
  await waitFor("the call view", async () => (await app.findAll("#call-title")).length > 0, 15000);
  // Bo talks; Cy is there without a microphone, so the sink plays Bo alone.
  members.push(talker(session, "Bo", 3), talker(session, "Cy", 4, ["--microphone", "none"]));
  await waitFor("three members", async () => (await rows()).length === 3, 20000);
  if ((await app.findAll("li.member")).length === 0) await app.click(await app.find("#toggle-people"));
  await waitFor("media connected", async () =>
    app.exec(`return document.querySelector("main.stage")?.dataset.media === "connected";`), 20000);
  const full = await waitFor("Bo heard", async () => {
    const l = await level("Bo at 100 %");
    return l > -40 ? l : null;
  }, 40000, 0);
  await setVolume("Bo", 25);
  const quiet = await level("Bo at 25 %");
  const drop = full - quiet;
  assert.ok(drop > 8 && drop < 16, `Bo at 25 % is ${drop.toFixed(1)} dB down (${full.toFixed(1)} → ${quiet.toFixed(1)})`);
  await setVolume("Bo", 0);
  const silent = await level("Bo at 0 %");
  assert.ok(silent < full - 40, `Bo at 0 % still plays at ${silent.toFixed(1)} dBFS`);
});
