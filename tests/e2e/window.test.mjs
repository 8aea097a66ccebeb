// The window opens as large as it was left: resize it, close the app, open it again with the
// same settings profile, and the window has the size it had.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { launchApp, privateHome, waitFor } from "./webdriver.mjs";

const viewport = (app) => app.exec(`return [window.innerWidth, window.innerHeight];`);

test("the window's size is remembered from one launch to the next", async () => {
  const env = privateHome();
  let launched = await launchApp(env);
  let left;
  try {
    // Away from the default 1200×800, so that remembering is told apart from the default.
    await launched.app.setWindowRect({ width: 980, height: 660 });
    left = await waitFor("the new size", async () => {
      const [w, h] = await viewport(launched.app);
      return Math.abs(w - 980) <= 40 && Math.abs(h - 660) <= 80 ? [w, h] : null;
    }, 10000);
    // Saved once the window has been still a moment (the app may end without closing it).
    const saved = path.join(env.XDG_CONFIG_HOME, "app.huddle.desktop", ".window-state.json");
    await waitFor("the saved window state", async () => existsSync(saved) && /"main"/.test(readFileSync(saved, "utf8")), 10000);
  } finally {
    await launched.close();
  }
  launched = await launchApp(env);
  try {
    const again = await waitFor("the window laid out", async () => {
      const size = await viewport(launched.app);
      return size[0] > 0 ? size : null;
    });
    assert.deepEqual(again, left, "the window opens at the size it was left");
  } finally {
    await launched.close();
  }
});
