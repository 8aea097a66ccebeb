// Desktop notifications: with a stand-in notification server on the session bus, a chat
// message that mentions me while the window does not have the focus arrives there as a
// Notify call; a message that does not mention me does not, and nothing does while the
// window has the focus.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import path from "node:path";
import { launchApp, privateHome, repoRoot, sleep, waitFor } from "./webdriver.mjs";

const cli = process.env.HUDDLE_CLI ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, "target"), "debug", "huddle-cli");

/** A child whose stdout lines (JSON where they parse) are collected. */
function child(command, args) {
  const proc = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
  const lines = [];
  createInterface({ input: proc.stdout }).on("line", (line) => {
    try {
      lines.push(JSON.parse(line));
    } catch {
      lines.push({ text: line });
    }
  });
  return {
    lines,
    send: (line) => proc.stdin.write(`${line}\n`),
    stop: () => {
      proc.stdin.end();
      setTimeout(() => proc.kill("SIGTERM"), 2000).unref();
    },
  };
}

describe("desktop notifications", () => {
  let daemon;
  let launched;
  let app;
  let bo;

  before(async () => {
    daemon = child("/usr/bin/python3", [path.join(import.meta.dirname, "notification-daemon.py")]);
    await waitFor("the stand-in notification server", async () => daemon.lines.some((l) => l.ready), 10000);
    launched = await launchApp(privateHome());
    app = launched.app;
  });

  after(async () => {
    bo?.stop();
    await launched?.close();
    daemon?.stop();
  });

  test("a mention while the window is in the back is a Notify call", async () => {
    const status = await waitFor("the embedded server", async () => {
      const text = await app.text(await app.find("#host-status")).catch(() => "");
      return text.startsWith("Hosting on this computer") ? text : null;
    });
    const address = status.match(/at (\S+:\d+)\./)?.[1];
    for (const [field, value] of [["displayName", "Ann Lee"], ["sessionName", "Notify me"]]) {
      await app.exec(
        `const el = document.querySelector("input[name=" + arguments[0] + "]");
         el.value = arguments[1];
         el.dispatchEvent(new Event("input", { bubbles: true }));`,
        [field, value],
      );
    }
    await app.click(await app.find("button[type=submit]"));
    await waitFor("the call view", async () => (await app.findAll("#call-title")).length > 0, 15000);
    bo = child(cli, ["join", `ws://${address}/v1/ws`, "Notify me", "--name", "Bo", "--json", "--camera", "none", "--microphone", "none"]);
    await waitFor("Bo in the call", async () => bo.lines.some((l) => l.type === "joined" || l.type === "welcome" || l.type === "state"), 15000);
    // While the window has the focus, a mention is no notification.
    bo.send("@Ann Lee while you are looking");
    await waitFor("the message in the app", async () =>
      (await app.exec(`return document.body.textContent.includes("while you are looking");`)) || null, 10000).catch(() => null);
    await sleep(1000);
    assert.equal(daemon.lines.filter((l) => l.summary).length, 0, "no notification while focused");
    // Another window takes the focus (the stand-in opens one), so the app's is in the back.
    daemon.send("focus");
    await waitFor("the window in the back", async () => (await app.exec("return document.hasFocus();")) === false, 10000);
    bo.send("nothing for anyone in particular");
    bo.send("over to you, @ann  lee");
    const note = await waitFor("a Notify call", async () => daemon.lines.find((l) => l.summary), 10000);
    assert.equal(note.summary, "Bo mentioned you");
    assert.equal(note.body, "over to you, @ann lee");
    assert.ok(note.actions.includes("default"), "a click is reported");
    await sleep(500);
    assert.equal(daemon.lines.filter((l) => l.summary).length, 1, "the other message notified nobody");
  });
});
