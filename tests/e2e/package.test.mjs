// The installers hold a working app: unpack the .deb built for this machine and run the
// packaged binary's --version, and its desktop entry opens join links; the .rpm is checked for
// the same binary.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { repoRoot } from "./webdriver.mjs";

const version = JSON.parse(readFileSync(path.join(repoRoot, "tauri.conf.json"), "utf8")).version;
const bundleDir = process.env.HUDDLE_BUNDLE_DIR ?? path.join(repoRoot, "target", "debug", "bundle");

// The package of this version (older builds may sit beside it).
function only(dir, ext) {
  const files = readdirSync(dir).filter((f) => f.endsWith(ext) && f.includes(version));
  assert.equal(files.length, 1, `expected one ${ext} in ${dir}, found ${files.join(", ") || "none"}`);
  return path.join(dir, files[0]);
}

test("the .deb unpacks and its binary prints the version", () => {
  const deb = only(path.join(bundleDir, "deb"), ".deb");
  const dir = mkdtempSync(path.join(tmpdir(), "huddle-deb-"));
  try {
    execFileSync("dpkg-deb", ["-x", deb, dir]);
    const out = execFileSync(path.join(dir, "usr", "bin", "huddle"), ["--version"], { encoding: "utf8" });
    assert.equal(out.trim(), `huddle ${version}`);
    const control = execFileSync("dpkg-deb", ["-f", deb, "Package", "Version", "Depends"], { encoding: "utf8" });
    assert.match(control, /Package: huddle/);
    assert.match(control, new RegExp(`Version: ${version.replace(/\./g, "\\.")}`));
    assert.match(control, /libwebkit2gtk-4\.1-0/);
    const applications = path.join(dir, "usr", "share", "applications");
    const desktop = readdirSync(applications).filter((f) => f.endsWith(".desktop"));
    assert.equal(desktop.length, 1, "a .desktop entry is installed");
    // Join links open the app: the entry handles the huddle: scheme and passes the link on.
    const entry = readFileSync(path.join(applications, desktop[0]), "utf8");
    assert.match(entry, /^MimeType=.*x-scheme-handler\/huddle;/m);
    assert.match(entry, /^Exec=huddle %u$/m);
    assert.match(entry, /^Categories=[^;]+(;[^;]+)*;$/m, "categories end in one semicolon");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the .rpm carries the same binary", () => {
  const rpm = only(path.join(bundleDir, "rpm"), ".rpm");
  const files = execFileSync("rpm", ["-qlp", rpm], { encoding: "utf8" }).split("\n");
  assert.ok(files.includes("/usr/bin/huddle"), `rpm lists /usr/bin/huddle (got ${files.length} files)`);
});
