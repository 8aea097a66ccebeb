// The call view end to end: the real app joins a session on its embedded server together
// with headless members (huddle-cli, which also acts as a host through its /commands), and
// the test checks what the window shows. Screenshots of the call view and the
// host panel are kept under target/e2e/.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createConnection as createConnectionTo, createServer } from "node:net";
import path from "node:path";
import { openApp, privateHome, repoRoot, sleep, startDriver, waitFor } from "./webdriver.mjs";
import {
  cliMember as cliMemberOf,
  fillAndJoin as fillAndJoinOf,
  quietMember as quietMemberOf,
  setField as setFieldOf,
} from "./members.mjs";

const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, "target");
const application = process.env.HUDDLE_APP ?? path.join(repoRoot, "target", "debug", "huddle");
let cli = process.env.HUDDLE_CLI ?? path.join(targetDir, "debug", "huddle-cli");

const cliMember = (address, session, name, extra = []) => cliMemberOf(cli, address, session, name, extra);
const quietMember = (address, session, name) => quietMemberOf(cli, address, session, name);

let driver;
let app;
let address;
const members = [];

// A private address on a real interface other than loopback (a veth pair), for hosting
// "for the network": machines that run the tests may have no private network of their own.
const lanIp = `10.204.${(process.pid % 250) + 1}.1`;
const lanIf = `hle${process.pid % 100000}`;
function addLanInterface() {
  try {
    execFileSync("ip", ["link", "del", lanIf], { stdio: "ignore" });
  } catch {
    // Not left over from an earlier run.
  }
  execFileSync("ip", ["link", "add", lanIf, "type", "veth", "peer", "name", `${lanIf}p`]);
  execFileSync("ip", ["addr", "add", `${lanIp}/24`, "dev", lanIf]);
  execFileSync("ip", ["link", "set", lanIf, "up"]);
  execFileSync("ip", ["link", "set", `${lanIf}p`, "up"]);
}
function removeLanInterface() {
  try {
    execFileSync("ip", ["link", "del", lanIf], { stdio: "ignore" });
  } catch {
    // Never added.
  }
}

async function textOf(css) {
  return app.text(await app.find(css));
}

/** Every user-list row as the page sees it. */
const rows = () =>
  app.exec(`return [...document.querySelectorAll("li.member")].map((li) => ({
    id: Number(li.dataset.member), name: li.querySelector(".name").textContent, role: li.dataset.role,
    muted: li.dataset.muted === "true", video: li.dataset.video === "true", hand: li.dataset.hand === "true" }));`);

const setField = (field, value) => setFieldOf(app, field, value);
const fillAndJoin = (name, session, server = "") => fillAndJoinOf(app, name, session, server);

async function backToPrejoin() {
  await app.click(await app.find("#back-to-prejoin"));
  await waitFor("the pre-join screen", async () => (await textOf("h1")) === "Ready to join?");
}

before(async () => {
  assert.ok(existsSync(application), `${application} is missing: build it with 'npx tauri build --debug'`);
  if (!process.env.HUDDLE_CLI) {
    // Usually built already by the unit tests; this is quick when it is.
    execFileSync("cargo", ["build", "--locked", "-p", "huddle-client", "--bin", "huddle-cli"], {
      cwd: repoRoot,
      stdio: "inherit",
    });
  }
  assert.ok(existsSync(cli), `${cli} is missing`);
  addLanInterface();
  // The app hosts "for the network" on that address (its override of the default route's).
  driver = await startDriver({ ...privateHome(), HUDDLE_HOST_ADDRESS: lanIp });
  app = await openApp(driver, application);
  const status = await waitFor("the embedded server", async () => {
    const text = await textOf("#host-status");
    return text.startsWith("Hosting on this computer") ? text : null;
  });
  address = status.match(/at (\S+:\d+)\./)?.[1];
  assert.ok(address, `status names an address: ${status}`);
});

after(async () => {
  await Promise.all(members.map((m) => m.stop()));
  await app?.close();
  await driver?.stop();
  removeLanInterface();
});

describe("joining a server that never answers", () => {
  test("Cancel gives the join up at once and the form is back, without an error", async () => {
    // Takes connections and holds them without a word, as a dead or wrong server can.
    const held = new Set();
    const silent = createServer((socket) => {
      held.add(socket);
      socket.on("error", () => undefined);
    });
    await new Promise((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const port = silent.address().port;
      await waitFor("the pre-join form", async () => (await app.findAll("input[name=sessionName]")).length > 0);
      await setField("serverUrl", `127.0.0.1:${port}`);
      await setField("displayName", "Ann");
      await setField("sessionName", "Nobody home");
      await app.click(await app.find("button[type=submit]"));
      const cancel = await waitFor("the Cancel button", async () => (await app.findAll("#join-cancel"))[0], 5000);
      assert.equal(await textOf("button[type=submit]"), "Joining…");
      await sleep(500);
      assert.equal((await app.findAll("#call-title")).length, 0, "no call view: the server said nothing");
      await app.click(cancel);
      // Well inside the 10 s the join would otherwise wait for the server.
      await waitFor("the Join button back", async () => (await textOf("button[type=submit]")) === "Join", 3000);
      assert.equal((await app.findAll("#join-error")).length, 0, "no error is shown for a cancel");
      assert.equal((await app.findAll("#join-cancel")).length, 0);
    } finally {
      await setField("serverUrl", "");
      for (const s of held) s.destroy();
      silent.close();
    }
  });
});

describe("the app as host, with two headless members", () => {
  const session = "E2E Standup";
  let bo;
  let cy;

  test("three members appear in the user list with their states", async () => {
    await fillAndJoin("Ann", session);
    bo = cliMember(address, session, "Bo");
    cy = cliMember(address, session, "Cy", ["--muted"]);
    members.push(bo, cy);
    const list = await waitFor("three members", async () => {
      const r = await rows();
      return r.length === 3 ? r : null;
    });
    const by = Object.fromEntries(list.map((r) => [r.name.replace(" (you)", ""), r]));
    assert.equal(by.Ann.role, "host");
    assert.ok(list[0].name.endsWith("(you)"), "I am listed first");
    assert.equal(by.Bo.role, "participant");
    assert.equal(by.Bo.muted, false);
    assert.equal(by.Cy.role, "participant");
    assert.equal(by.Cy.muted, true, "Cy joined muted");
    assert.equal(by.Ann.video, true, "I joined with the camera on");
    assert.match(await textOf("#people-count"), /^3 people/);
  });

  test("the invite link leads to this session on this server, and Copy says so", async () => {
    const button = await app.find("#copy-invite");
    const link = new URL(await app.exec(`return document.getElementById("copy-invite").dataset.link;`));
    assert.equal(link.protocol, "huddle:");
    assert.equal(link.searchParams.get("session"), session);
    assert.match(link.searchParams.get("server") ?? "", new RegExp(`${address.replace(/\./g, "\\.")}`));
    await app.click(button);
    // Copied where the clipboard takes it; shown for copying by hand where it does not.
    await waitFor("the invite note", async () =>
      (await app.exec(`return [...document.querySelectorAll(".toast")].map((t) => t.textContent).join("|");`)).match(/invite link/i), 5000);
  });

  test("the grid has a tile each, mine showing the moving camera preview", async () => {
    const tiles = await app.findAll(".tile");
    assert.equal(tiles.length, 3);
    const mine = (await rows()).find((r) => r.name.endsWith("(you)")).id;
    const frames = () => app.exec(`return Number(document.querySelector('.tile[data-member="${mine}"]').dataset.frames);`);
    const first = await waitFor("my preview frames", async () => ((await frames()) > 0 ? frames() : null), 15000);
    await waitFor("my preview frames to keep coming", async () => (await frames()) > first + 3, 10000);
    const renderer = await app.exec(`return document.querySelector('.tile[data-member="${mine}"]').dataset.renderer;`);
    assert.ok(["webgl", "2d"].includes(renderer), `renderer is ${renderer}`);
  });

  test("the media link connects and both remote tiles show moving video", async () => {
    await waitFor("media connected", async () =>
      app.exec(`return document.querySelector("main.stage")?.dataset.media === "connected";`), 20000);
    assert.equal((await app.findAll("#media-state")).length, 0, "no media note once connected");
    const others = (await rows()).filter((r) => !r.name.endsWith("(you)"));
    assert.equal(others.length, 2);
    const frames = (id) => app.exec(`return Number(document.querySelector('.tile[data-member="${id}"]').dataset.frames);`);
    // The picture as the page has it: WebGL keeps its drawing buffer, so it can be read back.
    const picture = (id) =>
      app.exec(`return document.querySelector('.tile[data-member="${id}"] canvas').toDataURL("image/png");`);
    for (const o of others) {
      const first = await waitFor(`${o.name}'s video`, async () => ((await frames(o.id)) > 0 ? frames(o.id) : null), 20000);
      const before = await picture(o.id);
      // Generous: on a busy machine under Xvfb the page may draw only a frame every few
      // seconds (docs/BENCHMARKS.md); moving is what is checked here, not the rate.
      await waitFor(`${o.name}'s frames to keep coming`, async () => (await frames(o.id)) > first + 2, 30000);
      assert.notEqual(await picture(o.id), before, `${o.name}'s picture moves`);
      const shown = await app.exec(
        `return getComputedStyle(document.querySelector('.tile[data-member="${o.id}"] canvas')).visibility;`,
      );
      assert.equal(shown, "visible", `${o.name}'s video is shown, not the camera-off look`);
    }
  });

  test("a hidden window asks for no video, and the video comes back when it is shown", async () => {
    const others = (await rows()).filter((r) => !r.name.endsWith("(you)"));
    const frames = () =>
      app.exec(`return [...arguments[0]].map((id) => Number(document.querySelector('.tile[data-member="' + id + '"]').dataset.frames));`,
        [others.map((o) => o.id)]);
    // What a minimised window reports (there is no window manager under Xvfb to minimise it).
    const setHidden = (hidden) =>
      app.exec(`Object.defineProperty(document, "hidden", { value: arguments[0], configurable: true });
        document.dispatchEvent(new Event("visibilitychange"));`, [hidden]);
    await setHidden(true);
    try {
      // The empty subscription reaches the server; frames already on their way are drawn.
      await sleep(2000);
      const still = await frames();
      await sleep(3000);
      assert.deepEqual(await frames(), still, "no video arrives while the window is hidden");
    } finally {
      await setHidden(false);
    }
    const hidden = await frames();
    for (const [i, o] of others.entries()) {
      await waitFor(`${o.name}'s video back`, async () => (await frames())[i] > hidden[i] + 1, 30000);
    }
  });

  test("each remote tile shows a good connection on loopback", async () => {
    const others = (await rows()).filter((r) => !r.name.endsWith("(you)"));
    for (const o of others) {
      // Graded every 2 s from what arrived; on loopback it settles at good.
      await waitFor(`${o.name}'s connection graded good`, async () =>
        app.exec(`return document.querySelector('.tile[data-member="${o.id}"] .signal')?.dataset.quality === "good";`), 30000);
      const label = await app.exec(
        `return document.querySelector('.tile[data-member="${o.id}"] .signal').getAttribute("aria-label");`,
      );
      assert.equal(label, "Connection good");
    }
  });

  test("speaker view and a pin put one member on the large tile", async () => {
    const layout = () => app.exec(`return document.querySelector(".grid-area").dataset.layout;`);
    assert.equal(await layout(), "gallery");
    await app.click(await app.find("#layout-speaker"));
    await waitFor("speaker view", async () => (await layout()) === "speaker");
    await app.click(await app.find("#layout-gallery"));
    await waitFor("gallery view", async () => (await layout()) === "gallery");
    const cyRow = (await rows()).find((r) => r.name === "Cy");
    await app.click(await app.find(`.tile[data-member="${cyRow.id}"] button.pin`));
    await waitFor("Cy on the large tile", async () =>
      app.exec(`return document.querySelector(".main .tile")?.dataset.member === "${cyRow.id}";`),
    );
    await app.click(await app.find(`.tile[data-member="${cyRow.id}"] button.pin`));
    await waitFor("back to the gallery", async () => (await layout()) === "gallery");
  });

  test("the devices menu moves the call to another microphone and camera, and remembers them", async () => {
    await app.click(await app.find("#toggle-devices"));
    await waitFor("the device lists", async () => (await app.findAll("#switch-microphone option")).length > 1);
    const pick = async (kind) => {
      const id = await app.exec(`const s = document.querySelector("#switch-${kind}");
        // Another device if there is one, else the system default.
        const o = [...s.options].find((x) => x.value !== "" && x.value !== s.value) ??
          [...s.options].find((x) => x.value !== s.value);
        if (!o) return null;
        s.value = o.value;
        s.dispatchEvent(new Event("change", { bubbles: true }));
        return o.value;`);
      assert.notEqual(id, null, `a ${kind} to switch to`);
      await waitFor(`the ${kind} switch`, async () =>
        app.exec(`return !document.querySelector("#switch-${kind}").disabled;`));
      assert.equal((await app.findAll("#device-error")).length, 0, `switching the ${kind} worked`);
      return id === "" ? null : id;
    };
    const microphone = await pick("microphone");
    const camera = await pick("camera");
    const saved = await app.exec(
      `return window.__TAURI_INTERNALS__.invoke("load_settings").then((l) => l.settings);`,
    );
    assert.equal(saved.microphoneId, microphone, "the microphone is remembered");
    assert.equal(saved.cameraId, camera, "the camera is remembered");
    const mine = (await rows()).find((r) => r.name.endsWith("(you)")).id;
    const frames = () => app.exec(`return Number(document.querySelector('.tile[data-member="${mine}"]').dataset.frames);`);
    const first = await frames();
    await waitFor("my tile moving on the new camera", async () => (await frames()) > first + 3, 15000);
    await app.click(await app.find("#toggle-devices"));
    assert.equal((await app.findAll("#device-menu")).length, 0, "the menu closes");
  });

  test("Alt+A mutes and unmutes me", async () => {
    const myMuted = async () => (await rows()).find((r) => r.name.endsWith("(you)")).muted;
    const press = () =>
      app.exec(`window.dispatchEvent(new KeyboardEvent("keydown", { key: "a", code: "KeyA", altKey: true }));`);
    assert.equal(await myMuted(), false);
    await press();
    await waitFor("me muted", myMuted);
    await press();
    await waitFor("me unmuted", async () => !(await myMuted()));
  });

  test("the host panel is shown, and muting a participant updates their state everywhere", async () => {
    assert.equal((await app.findAll("#host-panel")).length, 1);
    await sleep(300);
    await app.screenshot("call-view");
    const boRow = (await rows()).find((r) => r.name === "Bo");
    await app.click(await app.find(`li.member[data-member="${boRow.id}"] button.more`));
    // The menu opens on the next frame, later on a busy machine.
    const mute = await waitFor("Bo's menu", async () =>
      (await app.findAll(`li.member[data-member="${boRow.id}"] [data-action=mute]`))[0], 5000);
    await app.screenshot("host-panel");
    await app.click(mute);
    await waitFor("Bo muted in the list", async () => (await rows()).find((r) => r.name === "Bo")?.muted);
    await bo.waitLine("Bo told he was muted", (l) => l.type === "notice" && l.notice.kind === "you_were_muted");
    await cy.waitLine("Cy sees Bo muted", (l) =>
      l.type === "state" && l.state.members.some((m) => m.id === boRow.id && m.audio_muted),
    );
  });

  test("chat round-trips, with an unread badge while the panel is closed", async () => {
    await app.click(await app.find("#toggle-people")); // closes the people panel
    bo.send("hello from Bo");
    const badge = await waitFor("the unread badge", async () => {
      const found = await app.findAll("#chat-unread");
      return found.length ? app.text(found[0]) : null;
    });
    assert.equal(badge, "1");
    await app.click(await app.find("#toggle-chat"));
    await waitFor("Bo's message in the chat", async () => (await textOf("ol.messages")).includes("hello from Bo"));
    assert.equal((await app.findAll("#chat-unread")).length, 0, "opening the chat clears the badge");
    await app.type(await app.find("textarea[name=chatText]"), "hello from Ann");
    await app.click(await app.find("#chat-send"));
    await cy.waitLine("Cy receives Ann's message", (l) => l.type === "chat" && l.message.text === "hello from Ann");
    await waitFor("my message in my chat", async () => (await textOf("ol.messages")).includes("You to everyone"));
  });

  test("sharing my screen shows it large here and sends it to the others; theirs comes back", async () => {
    await app.click(await app.find("#toggle-people")); // from the chat to the user list
    const mine = (await rows()).find((r) => r.name.endsWith("(you)")).id;
    const screenTile = (id) => `.tile[data-screen][data-member="${id}"]`;
    const frames = (id) => app.exec(`return Number(document.querySelector('${screenTile(id)}')?.dataset.frames ?? 0);`);
    const sharing = (id) => app.exec(`return document.querySelector('li.member[data-member="${id}"]')?.dataset.sharing === "true";`);
    // One screen under the virtual display: sharing starts at once, no menu.
    await app.click(await app.find("#toggle-share"));
    await waitFor("my share in the user list", () => sharing(mine), 15000);
    assert.equal(await app.exec(`return document.querySelector("#toggle-share").getAttribute("aria-pressed");`), "true");
    // My own screen, as the others get it, on the large tile, and moving.
    await waitFor("my screen on the large tile", async () =>
      app.exec(`return !!document.querySelector('.main ${screenTile(mine)}');`), 10000);
    const first = await waitFor("my screen's frames", async () => ((await frames(mine)) > 0 ? frames(mine) : null), 20000);
    await waitFor("my screen's frames to keep coming", async () => (await frames(mine)) > first + 1, 30000);
    // A headless member that shares too, and reports what it receives.
    const di = cliMember(address, session, "Di", ["--share", "--share-size", "640x360", "--stats-every", "1", "--camera", "none"]);
    members.push(di);
    const diId = (await di.waitLine("Di's welcome", (l) => l.type === "welcome")).state.me;
    await waitFor("Di's share in the user list", () => sharing(diId), 20000);
    // The app's real screen capture reaches Di through the server, decoded.
    await di.waitLine("Di decodes my screen", (l) =>
      l.type === "media_stats" && (l.screen_frames_by_participant?.[mine] ?? 0) >= 3, 30000);
    await bo.waitLine("Bo is given my screen", (l) => l.type === "slots" && l.share?.includes(mine), 15000);
    // Di's screen arrives here as a tile of its own beside mine, and moves.
    const diFirst = await waitFor("Di's screen frames", async () => ((await frames(diId)) > 0 ? frames(diId) : null), 30000);
    await waitFor("Di's screen to keep coming", async () => (await frames(diId)) > diFirst + 1, 30000);
    assert.equal(await app.exec(`return document.querySelector('.main .tile').dataset.member;`), String(mine),
      "the earliest sharer stays on the large tile");
    await app.screenshot("screen-share");
    // Stopping: my share leaves every list and Bo's share slot.
    await app.click(await app.find("#toggle-share"));
    await waitFor("my share ended", async () => !(await sharing(mine)), 10000);
    await waitFor("my screen tile gone", async () => (await app.findAll(screenTile(mine))).length === 0);
    await bo.waitLine("Bo's share slot freed of my screen", (l) =>
      l.type === "slots" && Array.isArray(l.share) && !l.share.includes(mine) && l.share.includes(diId), 15000);
    await di.stop();
    await waitFor("Di gone", async () => (await rows()).length === 3, 15000);
    assert.equal((await app.findAll(".tile[data-screen]")).length, 0, "no screen tile left");
    await app.click(await app.find("#toggle-chat")); // as the chat test left it
  });

  test("a small window keeps the controls on screen, the panel over the video", async () => {
    await app.setWindowRect({ width: 480, height: 720 });
    await app.click(await app.find("#toggle-people"));
    const fits = () =>
      app.exec(`const r = document.getElementById("leave").getBoundingClientRect();
        const p = document.querySelector("aside.panel").getBoundingClientRect();
        return r.right <= innerWidth && r.bottom <= innerHeight && p.width >= innerWidth - 1;`);
    await waitFor("the narrow layout", fits);
    await sleep(300);
    await app.screenshot("call-view-narrow");
    await app.setWindowRect({ width: 1200, height: 800 });
  });

  test("leaving shows the closing screen and leads back to pre-join", async () => {
    await app.click(await app.find("#leave"));
    await waitFor("the closing screen", async () => (await app.findAll("#ended-title")).length > 0);
    assert.equal(await textOf("#ended-title"), "You left the session");
    const boId = (await bo.waitLine("Bo's welcome", (l) => l.type === "welcome")).state.me;
    assert.ok(boId);
    await bo.waitLine("Bo sees Ann leave", (l) => l.type === "notice" && l.notice.kind === "left" && l.notice.name === "Ann");
    await backToPrejoin();
    await Promise.all([bo.stop(), cy.stop()]);
  });
});

describe("the app as participant, with a host that ends the session", () => {
  const session = "E2E Review";
  let host;

  test("a participant sees no host controls, and a forced one is refused by the server", async () => {
    host = quietMember(address, session, "Hana");
    members.push(host);
    const welcome = (await host.waitLine("the host's welcome", (l) => l.type === "welcome")).state;
    assert.equal(welcome.role, "host");
    await fillAndJoin("Ann", session);
    await waitFor("two members", async () => (await rows()).length === 2);
    assert.equal((await app.findAll("#host-panel")).length, 0, "no host panel");
    // The host's row has a menu with my own volume for them, and no host actions.
    const more = await app.findAll("button.more");
    assert.equal(more.length, 1, "one menu, on the other member's row");
    await app.click(more[0]);
    await waitFor("the volume slider", async () => (await app.findAll("input[name=memberVolume]")).length === 1);
    assert.equal((await app.findAll("[data-action]")).length, 0, "no per-user host actions");
    await app.click(more[0]);
    assert.equal((await app.findAll("#end-for-all")).length, 0, "no end for all");
    const refusal = await app.exec(
      `return window.__TAURI_INTERNALS__.invoke("manage_mute", { participant: ${welcome.me} })
         .then(() => "accepted", (e) => JSON.stringify(e));`,
    );
    const err = JSON.parse(refusal);
    assert.equal(err.kind, "refused");
    assert.match(err.message, /permission|admin/i);
    assert.match(err.detail, /permission_denied|PermissionDenied/);
  });

  test("the host ending the session shows why", async () => {
    host.send("/end");
    await waitFor("the closing screen", async () => (await app.findAll("#ended-title")).length > 0);
    assert.equal(await textOf("#ended-title"), "The host ended the session");
    assert.match(await textOf("#ended-detail"), /Hana ended the session for everyone/);
    await backToPrejoin();
  });

  test("being removed by the host shows who removed me", async () => {
    const session = "E2E Removal";
    const host = quietMember(address, session, "Hana");
    members.push(host);
    await host.waitLine("the host's welcome", (l) => l.type === "welcome");
    await fillAndJoin("Ann", session);
    // Roster changes reach the host in members_changed batches, each member whole.
    const ann = (l) =>
      l.type === "state" && l.cause?.type === "members_changed" && l.cause.members?.find((m) => m.display_name === "Ann");
    const joined = ann(await host.waitLine("Ann joining", ann));
    host.send(`/remove ${joined.id}`);
    await waitFor("the closing screen", async () => (await app.findAll("#ended-title")).length > 0);
    assert.equal(await textOf("#ended-title"), "You were removed from the session");
    assert.equal(await textOf("#ended-detail"), "Hana removed you.");
    await backToPrejoin();
    await host.stop();
  });
});

/**
 * A TCP relay the test owns, in front of the app's server: `cut()` drops every connection
 * and refuses new ones, as a failed network would; `restore()` lets them through again.
 */
async function relay(target) {
  const [host, port] = [target.slice(0, target.lastIndexOf(":")), Number(target.slice(target.lastIndexOf(":") + 1))];
  const sockets = new Set();
  let open = true;
  const server = createServer((inbound) => {
    if (!open) return inbound.destroy();
    const outbound = createConnectionTo(port, host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => {
        sockets.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${server.address().port}`,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe("the waiting room, the app as host", () => {
  const session = "E2E Lobby";

  test("a joiner waits until the host admits it; another is denied and told so", async () => {
    await fillAndJoin("Ann", session);
    await app.click(await app.find("input[name=waitingRoom]"));
    await waitFor("the waiting room on", async () =>
      app.exec(`return document.querySelector("input[name=waitingRoom]").checked;`),
    );
    const gus = quietMember(address, session, "Gus");
    members.push(gus);
    const waiting = await gus.waitLine("Gus told to wait", (l) => l.type === "waiting");
    assert.equal(waiting.session, session);
    await waitFor("Gus in the lobby queue", async () =>
      (await app.findAll(`li.waiter[data-waiter="${waiting.waiter}"]`)).length === 1,
    );
    assert.match(await textOf("#lobby"), /Gus/);
    assert.equal(gus.lines.some((l) => l.type === "welcome"), false, "Gus got in before anyone let him");
    await app.screenshot("lobby");
    await app.click(await app.find(`li.waiter[data-waiter="${waiting.waiter}"] button.admit`));
    const welcome = (await gus.waitLine("Gus let in", (l) => l.type === "welcome")).state;
    assert.ok(welcome.members.some((m) => m.display_name === "Ann"));
    await waitFor("Gus in the user list", async () => (await rows()).some((r) => r.name === "Gus"));
    await waitFor("the queue gone", async () => (await app.findAll("#lobby")).length === 0);

    // Deafening myself: the others see it, with my microphone muted too.
    await app.click(await app.find("#toggle-deaf"));
    await gus.waitLine("Gus sees Ann deafened and muted", (l) =>
      l.type === "state" && l.state.members.some((m) => m.display_name === "Ann" && m.deafened && m.audio_muted),
    );
    await waitFor("the button says how to undo it", async () => (await textOf("#toggle-deaf")).includes("Hear again"));
    await app.click(await app.find("#toggle-deaf"));
    await gus.waitLine("Gus sees Ann hear again", (l) =>
      l.type === "state" && l.state.members.some((m) => m.display_name === "Ann" && !m.deafened),
    );

    const mal = quietMember(address, session, "Mal");
    members.push(mal);
    const knock = await mal.waitLine("Mal told to wait", (l) => l.type === "waiting");
    const deny = await waitFor("Mal's Deny button", async () =>
      (await app.findAll(`li.waiter[data-waiter="${knock.waiter}"] button.deny`))[0],
    );
    await app.click(deny);
    const refused = await mal.waitLine("Mal told he was denied", (l) => l.type === "error");
    assert.match(refused.error, /did not let you in/);
    assert.equal((await rows()).some((r) => r.name === "Mal"), false, "Mal is not a member");

    await app.click(await app.find("#leave"));
    await waitFor("the closing screen", async () => (await app.findAll("#ended-title")).length > 0);
    await backToPrejoin();
    await Promise.all([gus.stop(), mal.stop()]);
  });
});

describe("the waiting room, the app as joiner", () => {
  test("the pre-join screen says it waits for the host until it is let in", async () => {
    const session = "E2E Lobby Join";
    const host = quietMember(address, session, "Hana");
    members.push(host);
    await host.waitLine("the host's welcome", (l) => l.type === "welcome");
    host.send("/waiting-room on");
    await host.waitLine("the waiting room on", (l) => l.type === "state" && l.state.session.waiting_room);
    await waitFor("the pre-join form", async () => (await app.findAll("input[name=sessionName]")).length > 0);
    await setField("displayName", "Ann");
    await setField("sessionName", session);
    await app.click(await app.find("button[type=submit]"));
    await waitFor("the waiting note", async () => (await app.findAll("#join-waiting")).length > 0, 10000);
    assert.match(await textOf("#join-waiting"), /Waiting for the host to let you into E2E Lobby Join/);
    assert.equal(await textOf("button[type=submit]"), "Waiting…");
    assert.equal((await app.findAll("#call-title")).length, 0, "no call view before the host lets me in");
    const knock = await host.waitLine("the host told Ann waits", (l) => l.type === "notice" && l.notice.kind === "waiter_joined");
    host.send(`/admit ${knock.notice.waiter}`);
    await waitFor("the call view", async () => (await app.findAll("#call-title")).length > 0, 10000);
    await waitFor("two members", async () => (await rows()).length === 2);
    await app.click(await app.find("#leave"));
    await waitFor("the closing screen", async () => (await app.findAll("#ended-title")).length > 0);
    await backToPrejoin();
    await host.stop();
  });
});

describe("a dropped link", () => {
  test("shows the reconnecting banner, and the call comes back whole", async () => {
    const link = await relay(address);
    const eve = cliMember(address, "E2E Flaky", "Eve");
    members.push(eve);
    try {
      await fillAndJoin("Ann", "E2E Flaky", `ws://${link.address}/v1/ws`);
      await waitFor("two members", async () => (await rows()).length === 2);
      link.cut();
      await waitFor("the reconnecting banner", async () => (await app.findAll("#reconnecting")).length > 0, 10000);
      await sleep(300);
      await app.screenshot("call-reconnecting");
      link.restore();
      await waitFor("the banner to go", async () => (await app.findAll("#reconnecting")).length === 0, 15000);
      const list = await rows();
      assert.equal(list.length, 2, "the same two members");
      assert.ok(list.some((r) => r.name === "Ann (you)") && list.some((r) => r.name === "Eve"));
      assert.ok(
        !eve.lines.some((l) => l.type === "notice" && l.notice.kind === "left"),
        "Eve never saw Ann leave",
      );
      await app.click(await app.find("#leave"));
      await waitFor("the closing screen", async () => (await app.findAll("#ended-title")).length > 0);
      await backToPrejoin();
    } finally {
      await eve.stop();
      await link.close();
    }
  });
});

describe("ending the session for everyone", () => {
  test("the host ends the session after confirming; the others are told", async () => {
    const session = "E2E Wrap-up";
    await fillAndJoin("Ann", session);
    const fay = cliMember(address, session, "Fay");
    members.push(fay);
    await waitFor("two members", async () => (await rows()).length === 2);
    await app.click(await app.find("#end-for-all"));
    await app.click(await app.find("#end-confirm"));
    await waitFor("the closing screen", async () => (await app.findAll("#ended-title")).length > 0);
    assert.equal(await textOf("#ended-title"), "You ended the session");
    await fay.waitLine("Fay told the host ended it", (l) =>
      l.type === "notice" && l.notice.kind === "session_ended" && l.notice.reason.kind === "ended_by_host",
    );
    await backToPrejoin();
    await fay.stop();
  });
});

describe("the server going away", () => {
  test("stopping the hosted server ends the call with the reason", async () => {
    await fillAndJoin("Ann", "E2E Shutdown");
    await app.exec(`return window.__TAURI_INTERNALS__.invoke("host_stop").then(() => true);`);
    await waitFor("the closing screen", async () => (await app.findAll("#ended-title")).length > 0);
    assert.equal(await textOf("#ended-title"), "The server shut down");
    await app.exec(`return window.__TAURI_INTERNALS__.invoke("host_start", { reach: "thisComputer" }).then(() => true);`);
    await backToPrejoin();
  });
});

describe("hosting for the network", () => {
  test("the hosted server moves to the network address; a member joins there with video", async () => {
    // The pre-join screen was just shown again: its hosting row comes with the host's status.
    await waitFor("the host toggle", async () => (await app.findAll("#host-network")).length > 0);
    await app.click(await app.find("#host-network"));
    const status = await waitFor("hosting for the network", async () => {
      const text = await textOf("#host-status");
      return text.includes("Others on your network") ? text : null;
    });
    const lan = status.match(/at (\S+:\d+)\./)?.[1];
    assert.ok(lan?.startsWith(`${lanIp}:`), `hosts on the network address: ${status}`);
    assert.equal((await app.findAll("#host-problem")).length, 0);

    const session = "E2E Network";
    const gus = cliMember(lan, session, "Gus");
    members.push(gus);
    await fillAndJoin("Ann", session);
    const gusId = await waitFor("Gus in the list", async () => (await rows()).find((r) => r.name === "Gus")?.id);
    await waitFor("media connected over the network address", async () =>
      app.exec(`return document.querySelector("main.stage")?.dataset.media === "connected";`), 20000);
    const frames = () => app.exec(`return Number(document.querySelector('.tile[data-member="${gusId}"]').dataset.frames);`);
    const first = await waitFor("Gus's video", async () => ((await frames()) > 0 ? frames() : null), 20000);
    await waitFor("Gus's frames to keep coming", async () => (await frames()) > first + 2, 30000);
    await app.click(await app.find("#leave"));
    await waitFor("the closing screen", async () => (await app.findAll("#ended-title")).length > 0);
    await backToPrejoin();
    await gus.stop();

    // Unticked: back to this computer only, and the network address is closed.
    await waitFor("the host toggle", async () => (await app.findAll("#host-network")).length > 0);
    await app.click(await app.find("#host-network"));
    await waitFor("hosting for this computer", async () => (await textOf("#host-status")).includes("at 127.0.0.1:"));
    const [host, port] = lan.split(":");
    const open = await new Promise((resolve) => {
      const socket = createConnectionTo({ host, port: Number(port) });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    assert.equal(open, false, `${lan} no longer answers`);
  });
});
