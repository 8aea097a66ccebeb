// In-meeting apps end to end: the real app hosts a session, opens the built-in Whiteboard in
// the apps panel and invites everyone; headless members (huddle-cli, speaking the
// whiteboard's wire format of docs/apps.md) get the invitation, see the strokes drawn in the
// window and draw strokes the window's canvas shows; a member connecting later gets the board;
// a poll runs to results with three votes; and an installed app that tries every way out of
// its sandbox is refused each time while the call goes on.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { launchApp, privateHome, sleep, waitFor, writeArtifact } from "./webdriver.mjs";
import { cliBinary, embeddedAddress, fillAndJoin, quietMember } from "./members.mjs";

let session;
let app;
let address;
let cli;
const members = [];
const home = privateHome();
const probeDir = path.join(home.XDG_DATA_HOME, "huddle", "apps", "probe");

before(async () => {
  cli = cliBinary();
  // The probe is installed the way a user installs an app: a folder in the data folder.
  mkdirSync(path.dirname(probeDir), { recursive: true });
  cpSync(path.join(import.meta.dirname, "fixtures", "probe"), probeDir, { recursive: true });
  session = await launchApp(home);
  app = session.app;
  address = await embeddedAddress(app);
  writeFileSync(path.join(probeDir, "server.js"), `window.PROBE_SERVER = ${JSON.stringify(address)};\n`);
});

after(async () => {
  await Promise.all(members.map((m) => m.stop()));
  await session?.close();
});

/** Runs `fn` with WebDriver inside the open app's frame, then back in the call view. */
async function inFrame(fn) {
  await app.enterFrame(await app.find("#app-frame"));
  try {
    return await fn();
  } finally {
    await app.leaveFrames();
  }
}

/** Opens an app from the apps panel and waits until its page says it is ready. */
async function openFromPanel(id, ready = "ready") {
  if ((await app.findAll(`#open-app-${id}`)).length === 0) {
    if ((await app.findAll("#close-app")).length > 0) await app.click(await app.find("#close-app"));
    if ((await app.findAll(`#open-app-${id}`)).length === 0) await app.click(await app.find("#toggle-apps"));
  }
  await app.click(await waitFor(`the ${id} button`, async () => (await app.findAll(`#open-app-${id}`))[0]));
  await waitFor(`the ${id} frame`, async () => (await app.findAll("#app-frame")).length > 0);
  await waitFor(`${id} ${ready}`, () => inFrame(() => app.exec(`return document.body.dataset[arguments[0]] === "1";`, [ready])), 20000);
}

/** The app line a member printed that `pred` accepts. */
const appLine = (m, what, pred) =>
  m.waitLine(what, (l) => l.type === "app" && pred(l.event));

/** The RGB of the whiteboard canvas at (x, y), fractions of its size. */
const pixel = (x, y) =>
  inFrame(() =>
    app.exec(
      `const c = document.getElementById("board");
       const d = c.getContext("2d").getImageData(Math.floor(arguments[0] * c.width), Math.floor(arguments[1] * c.height), 1, 1).data;
       return [d[0], d[1], d[2]];`,
      [x, y],
    ),
  );

describe("the whiteboard between the window and headless members", () => {
  const name = "E2E Apps";
  let bo;

  test("the host opens the whiteboard and invites everyone; a member gets the invitation", async () => {
    await fillAndJoin(app, "Ann", name);
    bo = quietMember(cli, address, name, "Bo");
    members.push(bo);
    await bo.waitLine("Bo's welcome", (l) => l.type === "welcome");
    await openFromPanel("whiteboard");
    await app.click(await app.find("#invite-all"));
    const invitation = await appLine(bo, "the invitation", (e) => e.kind === "invitation");
    assert.equal(invitation.event.app, "whiteboard");
    assert.equal(invitation.event.from_name, "Ann");
  });

  test("a stroke drawn in the window reaches the member; the member's stroke shows on the canvas", async () => {
    bo.send("/app open whiteboard");
    await appLine(bo, "Bo's board opened", (e) => e.kind === "opened");
    // A drag across the middle of the board, as pointer events.
    await inFrame(() =>
      app.exec(`
        const c = document.getElementById("board");
        const r = c.getBoundingClientRect();
        const at = (x, y) => ({ clientX: r.left + x * r.width, clientY: r.top + y * r.height, pointerId: 7, button: 0, bubbles: true });
        c.dispatchEvent(new PointerEvent("pointerdown", at(0.2, 0.3)));
        for (let i = 1; i <= 10; i++) c.dispatchEvent(new PointerEvent("pointermove", at(0.2 + i * 0.06, 0.3)));
        window.dispatchEvent(new PointerEvent("pointerup", at(0.8, 0.3)));`),
    );
    const drawn = await appLine(bo, "Ann's stroke at Bo", (e) => e.kind === "message" && e.data?.t === "stroke");
    assert.ok(drawn.event.data.points.length >= 2, "the stroke has its points");
    assert.ok(drawn.event.data.points.every(([, y]) => Math.abs(y - 0.3) < 0.02), "along the drag");

    assert.deepEqual(await pixel(0.5, 0.7), [255, 255, 255], "white where nothing is drawn yet");
    const stroke = { t: "stroke", id: "bo-line", color: "#e53935", width: 12, points: [[0.1, 0.7], [0.9, 0.7]] };
    bo.send(`/app send whiteboard ${JSON.stringify(stroke)}`);
    await waitFor("Bo's red line on the canvas", async () => {
      const [r, g, b] = await pixel(0.5, 0.7);
      return r > 200 && g < 90 && b < 90;
    }, 10000);
    assert.equal(await inFrame(() => app.exec(`return document.body.dataset.strokes;`)), "2");
    await app.screenshot("apps-whiteboard");
  });

  test("a member who opens the board later gets both strokes", async () => {
    const cy = quietMember(cli, address, name, "Cy");
    members.push(cy);
    await cy.waitLine("Cy's welcome", (l) => l.type === "welcome");
    // The window writes the board's state a moment after each change.
    await sleep(800);
    cy.send("/app open whiteboard");
    const opened = await appLine(cy, "Cy's board", (e) => e.kind === "opened");
    const ids = new Set([
      ...(opened.event.state?.strokes ?? []).map((s) => s.id),
      ...opened.event.recent.filter((m) => m.data?.t === "stroke").map((m) => m.data.id),
    ]);
    assert.equal(ids.size, 2, `both strokes: ${[...ids].join(", ")}`);
    assert.ok(ids.has("bo-line"));
    await cy.stop();
  });

  test("a poll runs to results with three votes, then the host closes it", async () => {
    const dee = quietMember(cli, address, name, "Dee");
    members.push(dee);
    await dee.waitLine("Dee's welcome", (l) => l.type === "welcome");
    await openFromPanel("poll");
    bo.send("/app open poll");
    dee.send("/app open poll");
    await appLine(bo, "Bo's poll opened", (e) => e.kind === "opened" && e.app === "poll");
    await appLine(dee, "Dee's poll opened", (e) => e.kind === "opened" && e.app === "poll");
    await inFrame(async () => {
      const type = (css, text) =>
        app.exec(
          `const el = document.querySelector(arguments[0]); el.value = arguments[1];
           el.dispatchEvent(new Event("input", { bubbles: true }));`,
          [css, text],
        );
      await type("#question", "Lunch?");
      await type("#option-0", "Pizza");
      await type("#option-1", "Soup");
      await app.click(await app.find("#start-poll"));
    });
    const poll = await appLine(bo, "the poll at Bo", (e) => e.kind === "message" && e.data?.t === "poll");
    assert.deepEqual(poll.event.data.options, ["Pizza", "Soup"]);
    const pollId = poll.event.data.id;
    bo.send(`/app send poll ${JSON.stringify({ t: "vote", poll: pollId, option: 1 })}`);
    dee.send(`/app send poll ${JSON.stringify({ t: "vote", poll: pollId, option: 1 })}`);
    // A second vote by the same member is not counted.
    dee.send(`/app send poll ${JSON.stringify({ t: "vote", poll: pollId, option: 0 })}`);
    await inFrame(async () => {
      await app.click(await waitFor("my vote button", async () => (await app.findAll("#vote-0"))[0]));
      await waitFor("three votes", async () => (await app.exec(`return document.body.dataset.votes;`)) === "3", 10000);
      assert.equal(await app.text(await app.find("#count-0")), "1");
      assert.equal(await app.text(await app.find("#count-1")), "2");
      await app.click(await app.find("#close-poll"));
      await waitFor("the poll closed", async () => (await app.exec(`return document.body.dataset.closed;`)) === "1");
    });
    await appLine(bo, "the close at Bo", (e) => e.kind === "message" && e.data?.t === "close");
    await app.screenshot("apps-poll");
  });

  test("an app that tries to leave its sandbox is refused every time, and the call goes on", async () => {
    await openFromPanel("probe", "done");
    const text = await inFrame(() => app.exec(`return document.body.dataset.results;`));
    writeArtifact("apps-probe.json", text);
    const results = JSON.parse(text);
    const failed = (name) => assert.equal(results[name]?.ok, false, `${name}: ${JSON.stringify(results[name])}`);
    // No way to the page, the window's commands, the network or new windows.
    for (const name of ["parentDocument", "topLocation", "tauriInternals", "localStorage", "ipcFetch",
      "ipcFetchWindows", "fetchServer", "webSocket", "openWindow"]) failed(name);
    // The SDK bridge checks every call.
    assert.equal(results.beforeConfig.error, "not_configured");
    const granted = JSON.parse(results.config.value);
    assert.deepEqual(granted.unsupportedApis.sort(), ["getMeetingParticipants", "sendAppInvitationToAllParticipants"]);
    assert.equal(results.undeclared.error, "not_declared");
    assert.equal(results.notInManifest.error, "not_permitted");
    assert.equal(results.unknownApi.error, "unknown_api");
    assert.equal(results.declared.value, "Ann");
    assert.equal(results.beforeConnect.error, "not_connected");
    assert.equal(results.tooLarge.error, "too_large");
    const flood = JSON.parse(results.flood.value);
    assert.ok(flood.rate_limited > 0, `the flood was limited: ${results.flood.value}`);
    assert.ok((flood.sent ?? 0) >= 1, `some of it went through: ${results.flood.value}`);
    assert.deepEqual(Object.keys(flood).sort(), ["rate_limited", "sent"], `only sent or limited: ${results.flood.value}`);
    // The raw IPC attempt (if the handler was there) changed nothing: still in the call, its
    // media up, and chat goes on after the flood.
    assert.equal((await app.findAll("#call-title")).length, 1, "still in the call");
    await waitFor("the media link still up", async () =>
      app.exec(`return document.querySelector("main.stage")?.dataset.media === "connected";`), 10000);
    bo.send("after the flood");
    await app.click(await app.find("#toggle-chat"));
    await waitFor("Bo's chat in the window", async () =>
      (await app.exec(`return document.body.textContent.includes("after the flood");`)), 10000);
  });
});
