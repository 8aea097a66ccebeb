// Join links and one instance: launching the app again with a huddle:// link hands the link
// to the running app (the second process exits, no second window) and the pre-join screen
// fills in the session and server; a malformed link is refused in words and fills nothing.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appBinary, launchApp, privateHome, waitFor } from "./webdriver.mjs";

/** Launches the app binary again with `args`, as a desktop does for a link; its exit code. */
function launchAgain(env, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(appBinary, args, { env: { ...process.env, ...env }, stdio: "ignore" });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("the second launch did not hand over and exit within 20 s"));
    }, 20000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe("join links", () => {
  const env = privateHome();
  let launched;
  let app;
  const value = (name) => app.exec(`return document.querySelector("input[name=" + arguments[0] + "]").value;`, [name]);

  before(async () => {
    launched = await launchApp(env);
    app = launched.app;
    await waitFor("the pre-join form", async () => (await app.findAll("input[name=sessionName]")).length > 0);
  });

  after(async () => {
    await launched?.close();
  });

  test("a second launch with a link fills the running app's pre-join screen", async () => {
    const code = await launchAgain(env, ["huddle://join?session=Linked%20standup&server=127.0.0.1:7999"]);
    assert.equal(code, 0, "the second launch exits cleanly after handing over");
    await waitFor("the link's session in the form", async () => (await value("sessionName")) === "Linked standup", 10000);
    assert.equal(await value("serverUrl"), "127.0.0.1:7999");
    const note = await app.text(await app.find("#link-note"));
    assert.match(note, /Linked standup/);
    assert.equal((await app.findAll("#call-title")).length, 0, "a link never joins by itself");
  });

  test("a malformed link is refused in words and changes nothing", async () => {
    const code = await launchAgain(env, ["huddle://join?session=ok&server=javascript:alert(1)%3Cscript%3E"]);
    assert.equal(code, 0);
    const error = await waitFor("the refusal", async () => (await app.findAll("#link-error"))[0], 10000);
    assert.match(await app.text(error), /That link can't be opened/);
    assert.equal(await value("sessionName"), "Linked standup", "the form is as it was");
  });
});
