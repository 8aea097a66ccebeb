// Memory and CPU of the desktop app in a call: drives the real app through tauri-driver
// (under Xvfb), measures it on the pre-join screen, then joins a session on its embedded
// server with three huddle-cli members (a 4-person call) and measures again. Sums RSS and
// PSS over the app and every process it started (WebKit's web and network processes), and
// the CPU they used over the sampling window, in % of one core.
//
// Usage (under a display or xvfb-run, with dbus-run-session):
//   node tests/bench/call_resources.mjs [app-binary] [huddle-cli] [seconds]
import { spawn } from "node:child_process";
import { readFileSync, readdirSync, realpathSync } from "node:fs";
import path from "node:path";
import { openApp, privateHome, repoRoot, sleep, startDriver, waitFor } from "../e2e/webdriver.mjs";

const application = realpathSync(process.argv[2] ?? path.join(repoRoot, "target", "debug", "huddle"));
const cli = process.argv[3] ?? path.join(repoRoot, "target", "debug", "huddle-cli");
const seconds = Number(process.argv[4] ?? 20);
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

async function measure(pid, label) {
  const before = sample(pid);
  await sleep(seconds * 1000);
  const after = sample(pid);
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
  for (const who of ["Bo", "Cy", "Di"]) {
    const child = spawn(cli, ["join", `ws://${address}/v1/ws`, "Bench", "--name", who, "--json"], {
      stdio: ["pipe", "ignore", "ignore"],
    });
    members.push(child);
  }
  await waitFor("four members", async () => (await app.findAll("li.member")).length === 4);
  await sleep(5000);
  await measure(pid, "4-person call: own camera tile, three camera-off tiles, people panel");
} finally {
  for (const m of members) m.stdin.end();
  await sleep(500);
  await app?.close();
  await driver.stop();
}
