// What the end-to-end tests share for calls: headless members (huddle-cli) whose JSON lines
// are collected and to whom lines can be written, and joining from the app's pre-join form.
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import path from "node:path";
import { repoRoot, sleep, waitFor } from "./webdriver.mjs";

const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, "target");

/** huddle-cli: `HUDDLE_CLI`, else the debug build (built here if missing; quick when built). */
export function cliBinary() {
  const cli = process.env.HUDDLE_CLI ?? path.join(targetDir, "debug", "huddle-cli");
  if (!process.env.HUDDLE_CLI) {
    execFileSync("cargo", ["build", "--locked", "-p", "huddle-client", "--bin", "huddle-cli"], {
      cwd: repoRoot,
      stdio: "inherit",
    });
  }
  if (!existsSync(cli)) throw new Error(`${cli} is missing`);
  return cli;
}

/** A headless member: its JSON lines are collected, and lines can be written to it. */
export function member(command, args) {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
  const lines = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    try {
      lines.push(JSON.parse(line));
    } catch {
      lines.push({ type: "text", text: line });
    }
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return {
    lines,
    send: (line) => child.stdin.write(`${line}\n`),
    /** The first line matching `pred`, waiting for it. */
    waitLine: (what, pred, timeoutMs = 15000) => waitFor(what, () => lines.find(pred), timeoutMs),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end();
        const done = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
        if (!done) child.kill("SIGTERM");
      }
    },
  };
}

// Each headless member publishes a moving synthetic camera and synthetic speech, kept small
// so that several of them and the app share a small machine.
export const cliMember = (cli, address, session, name, extra = []) =>
  member(cli, ["join", `ws://${address}/v1/ws`, session, "--name", name, "--json", "--size", "320x180", "--fps", "15", ...extra]);

/** A member that only acts (a host that ends or removes, an app's peer): no media. */
export const quietMember = (cli, address, session, name) =>
  cliMember(cli, address, session, name, ["--camera", "none", "--microphone", "none"]);

/**
 * Sets a pre-join field through the DOM with an input event, which the form's bindings listen
 * to (WebDriver's clear only fires change).
 */
export const setField = (app, field, value) =>
  app.exec(
    `const el = document.querySelector("input[name=" + arguments[0] + "]");
     el.value = arguments[1];
     el.dispatchEvent(new Event("input", { bubbles: true }));
     el.dispatchEvent(new Event("change", { bubbles: true }));`,
    [field, value],
  );

/** Joins from the pre-join form; `server` empty means the server hosted by the app. */
export async function fillAndJoin(app, name, session, server = "") {
  await waitFor("the pre-join form", async () => (await app.findAll("input[name=sessionName]")).length > 0);
  for (const [field, value] of [
    ["displayName", name],
    ["sessionName", session],
    ["serverUrl", server],
  ]) {
    await setField(app, field, value);
  }
  await app.click(await app.find("button[type=submit]"));
  await waitFor("the call view", async () => {
    const errors = await app.findAll("p.error");
    if (errors.length) throw new Error(`the join failed: ${await app.text(errors[0])}`);
    return (await app.findAll("#call-title")).length > 0;
  }, 15000);
}

/** The address the app's embedded server listens at, once the pre-join screen says so. */
export async function embeddedAddress(app) {
  const status = await waitFor("the embedded server", async () => {
    const text = await app.text(await app.find("#host-status"));
    return text.startsWith("Hosting on this computer") ? text : null;
  });
  const address = status.match(/at (\S+:\d+)\./)?.[1];
  if (!address) throw new Error(`the status names no address: ${status}`);
  return address;
}
