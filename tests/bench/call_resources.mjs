// Memory, CPU and video frame rates of the desktop app in a call: drives the real app
// through tauri-driver (under Xvfb), measures it on the pre-join screen, then joins a session
// on its embedded server with huddle-cli members publishing synthetic video and speech, and
// measures again. Sums RSS and PSS over the app and every process it started (WebKit's web
// and network processes), and the CPU they used over the sampling window, in % of one core.
// For each remote tile it reports the frames per second that reached the page (drawn plus
// dropped) and were drawn, from the tiles' data-frames / data-dropped counters.
//
// Usage (under a display or xvfb-run, with dbus-run-session):
//   node tests/bench/call_resources.mjs [app-binary] [huddle-cli] [seconds] [others] [WxH] [fps]
// e.g. `... 20 3 640x360 30` for four tiles, `... 20 8 640x360 15` for nine.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { readFileSync, readdirSync, realpathSync } from "node:fs";
import path from "node:path";
import { openApp, privateHome, repoRoot, sleep, startDriver, waitFor } from "../e2e/webdriver.mjs";

const application = realpathSync(process.argv[2] ?? path.join(repoRoot, "target", "debug", "huddle"));
const cli = process.argv[3] ?? path.join(repoRoot, "target", "debug", "huddle-cli");
const seconds = Number(process.argv[4] ?? 20);
const others = Number(process.argv[5] ?? 3);
const size = process.argv[6] ?? "640x360";
const fps = process.argv[7] ?? "30";
const ticks = 100; // USER_HZ on Linux

const read = (file) => {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
};

/** The app started for this run: its binary, with this run's private HOME. */
function findApp(home) {
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let exe;
    try {
      exe = realpathSync(`/proc/${pid}/exe`);
    } catch {
      continue;
    }
    if (exe === application && read(`/proc/${pid}/environ`).split("\0").includes(`HOME=${home}`)) return pid;
  }
  return null;
}

function tree(pid) {
  const out = [pid];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    for (const child of read(`/proc/${pid}/task/${task}/children`).split(" ").filter(Boolean)) out.push(...tree(child));
  }
  return out;
}

function sample(pid) {
  const rows = [];
  for (const p of tree(pid)) {
    const smaps = read(`/proc/${p}/smaps_rollup`);
    const kb = (name) => Number(smaps.match(new RegExp(`^${name}:\\s+(\\d+)`, "m"))?.[1] ?? 0);
    const stat = read(`/proc/${p}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    rows.push({
      pid: p,
      name: read(`/proc/${p}/comm`).trim(),
      rss: kb("Rss") / 1024,
      pss: kb("Pss") / 1024,
      cpu: (Number(fields[11]) + Number(fields[12])) / ticks,
    });
  }
  return rows;
}

/** Each tile's counters, as the page has them. */
const tiles = (app) =>
  app.exec(`return [...document.querySelectorAll(".tile")].map((t) => ({
    member: t.dataset.member, name: t.querySelector(".name").textContent,
    drawn: Number(t.dataset.frames ?? 0), dropped: Number(t.dataset.dropped ?? 0) }));`);

// The first member's latest media counters: what a headless receiver decodes from each
// sender, beside the app, tells the transport's share of a low frame rate from the app's.
let reference = null;

async function measure(pid, label, app = null) {
  const before = sample(pid);
  const tilesBefore = app ? await tiles(app) : [];
  const referenceBefore = reference;
  await sleep(seconds * 1000);
  const after = sample(pid);
  const tilesAfter = app ? await tiles(app) : [];
  const referenceAfter = reference;
  console.log(`\n${label} (${seconds} s window)`);
  console.log(`${"process".padEnd(24)} ${"RSS MB".padStart(8)} ${"PSS MB".padStart(8)} ${"CPU %".padStart(7)}`);
  let [rss, pss, cpu] = [0, 0, 0];
  for (const row of after) {
    const was = before.find((b) => b.pid === row.pid)?.cpu ?? row.cpu;
    const pct = ((row.cpu - was) / seconds) * 100;
    console.log(`${row.name.padEnd(24)} ${row.rss.toFixed(1).padStart(8)} ${row.pss.toFixed(1).padStart(8)} ${pct.toFixed(1).padStart(7)}`);
    [rss, pss, cpu] = [rss + row.rss, pss + row.pss, cpu + pct];
  }
  console.log(`${"TOTAL".padEnd(24)} ${rss.toFixed(1).padStart(8)} ${pss.toFixed(1).padStart(8)} ${cpu.toFixed(1).padStart(7)}`);
  if (tilesAfter.length === 0) return;
  console.log(`\n${"tile".padEnd(16)} ${"in fps".padStart(7)} ${"drawn fps".padStart(9)} ${"dropped %".padStart(9)}`);
  let [inSum, drawnSum, droppedSum, remote] = [0, 0, 0, 0];
  for (const t of tilesAfter) {
    const was = tilesBefore.find((b) => b.member === t.member) ?? { drawn: 0, dropped: 0 };
    const drawn = t.drawn - was.drawn;
    const dropped = t.dropped - was.dropped;
    const arrived = drawn + dropped;
    const pct = arrived > 0 ? (dropped / arrived) * 100 : 0;
    console.log(`${t.name.padEnd(16)} ${(arrived / seconds).toFixed(1).padStart(7)} ${(drawn / seconds).toFixed(1).padStart(9)} ${pct.toFixed(1).padStart(9)}`);
    if (!t.name.endsWith("(you)")) [inSum, drawnSum, droppedSum, remote] = [inSum + arrived, drawnSum + drawn, droppedSum + dropped, remote + 1];
  }
  if (remote > 0) {
    const pct = inSum > 0 ? (droppedSum / inSum) * 100 : 0;
    console.log(`${"remote mean".padEnd(16)} ${(inSum / remote / seconds).toFixed(1).padStart(7)} ${(drawnSum / remote / seconds).toFixed(1).padStart(9)} ${pct.toFixed(1).padStart(9)}`);
  }
  if (referenceBefore && referenceAfter) {
    const span = (referenceAfter.at - referenceBefore.at) / 1000;
    const by = Object.entries(referenceAfter.stats.frames_by_participant ?? {}).map(
      ([who, n]) => `${who}: ${((n - (referenceBefore.stats.frames_by_participant?.[who] ?? 0)) / span).toFixed(1)}`,
    );
    const sent = (referenceAfter.stats.video_frames_sent - referenceBefore.stats.video_frames_sent) / span;
    const lost = referenceAfter.stats.video_frames_lost - referenceBefore.stats.video_frames_lost;
    console.log(`\nMember 1 (headless) over ${span.toFixed(0)} s: sent ${sent.toFixed(1)} fps; decoded fps by sender ${by.join(", ")}; ${lost} frames lost`);
  }
}

const env = privateHome();
const driver = await startDriver(env);
const members = [];
let app;
try {
  app = await openApp(driver, application);
  const status = await waitFor("the embedded server", async () => {
    const text = await app.text(await app.find("#host-status"));
    return text.startsWith("Hosting on this computer") ? text : null;
  });
  const address = status.match(/at (\S+:\d+)\./)[1];
  const pid = await waitFor("the app's process", async () => findApp(env.HOME));
  await sleep(5000);
  await measure(pid, "pre-join: camera preview and level meter");

  const name = await app.find("input[name=sessionName]");
  await app.type(name, "Bench");
  await app.click(await app.find("button[type=submit]"));
  await waitFor("the call view", async () => (await app.findAll("#call-title")).length > 0);
  for (let i = 0; i < others; i++) {
    const args = ["join", `ws://${address}/v1/ws`, "Bench", "--name", `Member ${i + 1}`, "--json"];
    // Different seeds: different voices, as in a real call.
    args.push("--size", size, "--fps", fps, "--seed", String(i + 2));
    // Only the first member decodes (its counters are the reference); the others publish and
    // skip decoding, so the machine's cores go to the app under test, not to the load.
    if (i === 0) args.push("--stats-every", "5");
    else args.push("--no-decode");
    const child = spawn(cli, args, { stdio: ["pipe", i === 0 ? "pipe" : "ignore", "ignore"] });
    if (i === 0) {
      createInterface({ input: child.stdout }).on("line", (line) => {
        try {
          const msg = JSON.parse(line);
          if (msg.type === "media_stats") reference = { at: Date.now(), stats: msg };
        } catch {
          // not a JSON line
        }
      });
    }
    members.push(child);
  }
  await waitFor(`${others + 1} members`, async () => (await app.findAll("li.member")).length === others + 1, 30000);
  await waitFor("every remote tile drawing", async () => {
    const t = await tiles(app);
    return t.length === others + 1 && t.every((x) => x.drawn > 0);
  }, 60000);
  await sleep(5000);
  await measure(pid, `${others + 1}-person call: own camera tile, ${others} remote videos at ${size}@${fps}, people panel`, app);
} finally {
  for (const m of members) m.stdin.end();
  await sleep(500);
  await app?.close();
  await driver.stop();
}
