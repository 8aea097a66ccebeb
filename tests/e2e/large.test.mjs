// The app in a session with 300 headless members: a real huddle-server (open mode, five
// publishers at most, no media) and one `huddle-cli crowd` process holding 300 signaling-only
// members. The app joins first and is the host; the crowd fills the stage and the rest is
// audience. The test checks the counts, the audience read page by page as the list scrolls,
// the search through the audience, and moving members between the audience and the stage
// from the row menus. A screenshot is kept as target/e2e/large-300.png.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { createInterface } from "node:readline";
import path from "node:path";
import { freePort, openApp, privateHome, repoRoot, sleep, startDriver, waitFor } from "./webdriver.mjs";

const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, "target");
const application = process.env.HUDDLE_APP ?? path.join(repoRoot, "target", "debug", "huddle");
const cli = process.env.HUDDLE_CLI ?? path.join(targetDir, "debug", "huddle-cli");
const serverBinary = process.env.HUDDLE_SERVER ?? path.join(targetDir, "debug", "huddle-server");

const CROWD = 300;
const MAX_ACTIVE = 5;
const SESSION = "E2E Webinar";
// Generous: a 2-core CI machine runs the server, 300 members and the app under Xvfb at once.
const LONG = 60000;

let server;
let crowd;
let driver;
let app;
let address;

/** A child process whose standard output lines are kept (JSON when they parse). */
function child(command, args, { stdin = "ignore", env = {} } = {}) {
  const proc = spawn(command, args, { stdio: [stdin, "pipe", "inherit"], env: { ...process.env, ...env } });
  const lines = [];
  createInterface({ input: proc.stdout }).on("line", (line) => {
    try {
      lines.push(JSON.parse(line));
    } catch {
      lines.push({ type: "text", text: line });
    }
  });
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  const running = () => proc.exitCode === null && proc.signalCode === null;
  return {
    proc,
    lines,
    running,
    waitLine: (what, pred, timeoutMs = LONG) =>
      waitFor(what, () => {
        const found = lines.find(pred);
        if (!found && !running()) throw new Error(`${command} exited (${proc.exitCode ?? proc.signalCode})`);
        return found;
      }, timeoutMs),
    /** Ends it: closing standard input first when it reads one, then SIGTERM, then SIGKILL. */
    async stop() {
      if (!running()) return;
      if (proc.stdin) proc.stdin.end();
      else proc.kill("SIGTERM");
      if (await Promise.race([exited.then(() => true), sleep(10000).then(() => false)])) return;
      proc.kill("SIGTERM");
      if (await Promise.race([exited.then(() => true), sleep(5000).then(() => false)])) return;
      proc.kill("SIGKILL");
      await exited;
    },
  };
}

const canConnect = (port) =>
  new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });

async function textOf(css) {
  return app.text(await app.find(css));
}

/** The user-list rows in the DOM (only those near the view are). */
const rows = () =>
  app.exec(`return [...document.querySelectorAll("li.member")].map((li) => ({
    id: Number(li.dataset.member), name: li.querySelector(".name").textContent, role: li.dataset.role,
    section: li.dataset.section }));`);

const rowNamed = async (name) => (await rows()).find((r) => r.name === name);

/** Whether a member's row lies wholly inside the list's visible box. */
const inView = (id) =>
  app.exec(
    `const li = document.querySelector('li.member[data-member="' + arguments[0] + '"]');
     if (!li) return false;
     const r = li.getBoundingClientRect();
     const v = document.querySelector(".people .scroller").getBoundingClientRect();
     return r.top >= v.top && r.bottom <= v.bottom;`,
    [id],
  );

const audienceLabel = () =>
  app.exec(`return document.querySelector("#audience-toggle")?.textContent.replace(/^[▸▾]/, "").trim() ?? null;`);

const audienceOpen = () =>
  app.exec(`return document.querySelector("#audience-toggle")?.getAttribute("aria-expanded") === "true";`);

/** Sets a field through the DOM with an input event, which the bindings listen to. */
const setInput = (css, value) =>
  app.exec(
    `const el = document.querySelector(arguments[0]);
     el.value = arguments[1];
     el.dispatchEvent(new Event("input", { bubbles: true }));
     el.dispatchEvent(new Event("change", { bubbles: true }));`,
    [css, value],
  );

const search = (text) => setInput("input[name=peopleSearch]", text);

/** Opens a row's menu and picks an action from it. */
async function act(id, action) {
  await app.click(await app.find(`li.member[data-member="${id}"] button.more`));
  const item = await waitFor(`the ${action} item`, async () =>
    (await app.findAll(`li.member[data-member="${id}"] [data-action=${action}]`))[0], 10000);
  await app.click(item);
}

before(async () => {
  for (const [what, file] of [
    ["the app", application],
    ["huddle-cli", cli],
    ["huddle-server", serverBinary],
  ]) {
    assert.ok(existsSync(file), `${what} (${file}) is missing: build with 'cargo test --workspace --no-run' and 'npx tauri build --debug --no-bundle'`);
  }
  const port = await freePort();
  address = `127.0.0.1:${port}`;
  server = child(serverBinary, [
    "--mode", "open",
    "--bind", address,
    "--max-active", String(MAX_ACTIVE),
    "--no-media",
    "--udp-echo-port", "0",
  ], { env: { RUST_LOG: process.env.RUST_LOG ?? "warn" } });
  await waitFor("huddle-server to listen", async () => {
    if (!server.running()) throw new Error(`huddle-server exited (${server.proc.exitCode})`);
    return canConnect(port);
  }, 20000);
  driver = await startDriver(privateHome());
  app = await openApp(driver, application);
});

after(async () => {
  await crowd?.stop();
  await app?.close();
  await driver?.stop();
  await server?.stop();
});

describe("the app in a session with 300 headless members", () => {
  let promoted;

  test("the app joins the server first, as host", async () => {
    await waitFor("the pre-join form", async () => (await app.findAll("input[name=sessionName]")).length > 0);
    for (const [field, value] of [
      ["displayName", "Ann"],
      ["sessionName", SESSION],
      ["serverUrl", address],
    ]) {
      await setInput(`input[name=${field}]`, value);
    }
    await app.click(await app.find("button[type=submit]"));
    await waitFor("the call view", async () => {
      const errors = await app.findAll("p.error");
      if (errors.length) throw new Error(`the join failed: ${await app.text(errors[0])}`);
      return (await app.findAll("#call-title")).length > 0;
    }, 30000);
    const me = await waitFor("my row", async () => (await rows()).find((r) => r.name.endsWith("(you)")));
    assert.equal(me.role, "host");
  });

  test("300 members join: 301 people, the stage full and 296 in the audience", async () => {
    crowd = child(cli, ["crowd", address, SESSION, "--members", String(CROWD), "--json"], { stdin: "pipe" });
    const joined = await crowd.waitLine("the crowd to join", (l) => l.type === "crowd", 120000);
    assert.equal(joined.joined, CROWD, JSON.stringify(joined));
    assert.equal(joined.failed, 0, JSON.stringify(joined));
    const audience = CROWD + 1 - MAX_ACTIVE;
    await waitFor("301 people", async () => (await textOf("#people-count")).startsWith("301 people"), LONG);
    assert.equal(await textOf("#people-count"), `301 people (${audience} in the audience)`);
    await waitFor("the audience group", async () => (await audienceLabel()) === `Audience · ${audience}`, LONG);
    // More than fifty: the group starts folded, and no audience row is drawn.
    assert.equal(await audienceOpen(), false);
    const stage = (await rows()).filter((r) => r.section === "stage");
    assert.equal(stage.length, MAX_ACTIVE, JSON.stringify(stage));
    assert.equal(stage.filter((r) => r.role === "participant").length, MAX_ACTIVE - 1);
    assert.equal((await rows()).filter((r) => r.section === "audience").length, 0);
  });

  test("opening the audience and scrolling reads further pages; only rows in view are drawn", async () => {
    await app.click(await app.find("#audience-toggle"));
    await waitFor("the audience open", audienceOpen);
    await waitFor("the first audience page", async () => (await rows()).some((r) => r.section === "audience"), LONG);
    const far = "member 0290";
    assert.equal(await rowNamed(far), undefined, `${far} is not drawn before scrolling`);
    // Scroll down half a view at a time; at the end of what is loaded the next page comes in.
    const found = await waitFor(`${far} in view after scrolling`, async () => {
      const hit = await rowNamed(far);
      if (hit && (await inView(hit.id))) return hit;
      await app.exec(`const s = document.querySelector(".people .scroller"); s.scrollTop += Math.floor(s.clientHeight / 2);`);
      return null;
    }, LONG, 250);
    assert.equal(found.section, "audience");
    assert.equal(found.role, "audience");
    const drawn = (await rows()).length;
    assert.ok(drawn < 80, `only the rows near the view are in the DOM (${drawn})`);
    assert.equal((await app.findAll(".people [role=alert]")).length, 0, "no page failed");
    await app.screenshot("large-300");
  });

  test("searching finds one audience member by name", async () => {
    await search("member 0250");
    await waitFor("one match", async () => {
      const r = await rows();
      return r.length === 1 && r[0].name === "member 0250" && (await audienceLabel()) === "Audience · 1";
    }, LONG, 250);
    promoted = await rowNamed("member 0250");
    assert.equal(promoted.section, "audience");
  });

  test("with the stage full the server refuses a promotion, and says why", async () => {
    await act(promoted.id, "promote");
    const error = await waitFor("the refusal", async () => {
      const found = await app.findAll("#action-error");
      return found.length ? app.text(found[0]) : null;
    }, LONG);
    assert.match(error, /refused|publish|active|limit|stage/i);
    await app.click(await app.find("#action-error button"));
    assert.equal((await rowNamed("member 0250"))?.section, "audience");
  });

  test("moving a participant to the audience makes room, and a promoted member shows on the stage", async () => {
    await search("");
    const audience = CROWD + 1 - MAX_ACTIVE;
    await waitFor("the whole list back", async () => (await audienceLabel()) === `Audience · ${audience}`, LONG, 250);
    await app.exec(`document.querySelector(".people .scroller").scrollTop = 0;`);
    const leaving = await waitFor("a participant on the stage", async () =>
      (await rows()).find((r) => r.section === "stage" && r.role === "participant"), LONG);
    await act(leaving.id, "demote");
    await waitFor("one more in the audience", async () =>
      (await textOf("#people-count")) === `301 people (${audience + 1} in the audience)`, LONG, 250);

    await search("member 0250");
    const row = await waitFor("member 0250 found again", async () => {
      const r = await rows();
      return r.length === 1 && r[0].name === "member 0250" ? r[0] : null;
    }, LONG, 250);
    await act(row.id, "promote");
    await waitFor("member 0250 on the stage", async () => {
      const r = await rowNamed("member 0250");
      return r?.section === "stage" && r.role === "participant";
    }, LONG, 250);
    await search("");
    await waitFor("the audience count back down", async () =>
      (await textOf("#people-count")) === `301 people (${audience} in the audience)`, LONG, 250);
    await waitFor("the audience group back down", async () => (await audienceLabel()) === `Audience · ${audience}`, LONG, 250);
    await app.exec(`document.querySelector(".people .scroller").scrollTop = 0;`);
    const stage = await waitFor("the new stage", async () => {
      const s = (await rows()).filter((r) => r.section === "stage");
      return s.length === MAX_ACTIVE ? s : null;
    }, LONG, 250);
    assert.ok(stage.some((r) => r.name === "member 0250"), JSON.stringify(stage));
    assert.ok(!stage.some((r) => r.id === leaving.id), "the demoted member left the stage");
    assert.equal((await app.findAll("#action-error")).length, 0);
  });

  test("the crowd leaves when its input closes, and the list empties", async () => {
    await crowd.stop();
    const left = crowd.lines.find((l) => l.type === "crowd_left");
    assert.ok(left, "the crowd says it left");
    assert.equal(left.left, CROWD, JSON.stringify(left));
    await waitFor("only me left", async () => (await textOf("#people-count")) === "1 person", LONG, 250);
  });
});
