// The real app, driven through tauri-driver + WebKitWebDriver: the window opens, the
// pre-join screen renders, and a screenshot is kept under target/e2e/.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { decodePng, distinctColours, launchApp, sleep, waitFor } from "./webdriver.mjs";

let launched;
let app;

before(async () => {
  launched = await launchApp();
  app = launched.app;
});

after(async () => {
  await launched?.close();
});

test("the window is titled Huddle", async () => {
  assert.equal(await app.title(), "Huddle");
});

test("the pre-join screen renders its heading and form", async () => {
  const heading = await waitFor("the pre-join heading", async () => {
    const el = await app.find("h1");
    const text = await app.text(el);
    return text === "Ready to join?" ? el : null;
  });
  const rect = await app.rect(heading);
  assert.ok(rect.width > 50 && rect.height > 10, `heading is laid out (${JSON.stringify(rect)})`);
  const inputs = await app.findAll("form input");
  assert.ok(inputs.length >= 4, `form has its inputs (found ${inputs.length})`);
  // The version comes from the Rust side, so this proves the IPC bridge works too.
  const footer = await waitFor("the version footer", async () => app.text(await app.find("footer")));
  assert.match(footer, /^Huddle \d+\.\d+\.\d+/);
});

test("a screenshot shows a rendered page, not a blank window", async () => {
  const footer = await app.rect(await app.find("footer"));
  assert.ok(footer.height > 0, "the footer is laid out before the screenshot");
  await sleep(500); // let the compositor paint the last layout before the capture
  const { file, png } = await app.screenshot("prejoin");
  const img = decodePng(png);
  assert.ok(img.width >= 300 && img.height >= 300, `screenshot ${file} is ${img.width}x${img.height}`);
  const colours = distinctColours(img);
  assert.ok(colours >= 8, `screenshot ${file} has ${colours} distinct colours; a blank window has 1-2`);
});

test("the form validates the session name before joining", async () => {
  const join = await app.find("button[type=submit]");
  await app.click(join);
  const message = await waitFor("the session-name error", async () => app.text(await app.find("#session-error")));
  assert.match(message, /Enter the name of the session/);
});

test("the app hosts on this computer at launch, and the server answers", async () => {
  const status = await waitFor("the embedded server", async () => {
    const text = await app.text(await app.find("#host-status"));
    return text.startsWith("Hosting on this computer") ? text : null;
  });
  const address = status.match(/at (\S+:\d+)\./)?.[1];
  assert.ok(address, `status names an address: ${status}`);
  const res = await fetch(`http://${address}/healthz`);
  assert.equal(res.status, 200);
});

test("the network test runs against the hosted server and shows a grade with numbers", async () => {
  await app.click(await app.find("#nettest-start"));
  const grade = await waitFor("the network grade", async () => {
    const errs = await app.findAll("#nettest-error");
    if (errs.length > 0) throw new Error(await app.text(errs[0]));
    const found = await app.findAll("#nettest-grade");
    return found.length > 0 ? app.text(found[0]) : null;
  }, 20000, 200);
  // Loopback has no loss, no jitter to speak of and plenty of bandwidth.
  assert.equal(grade, "Good");
  // The figures are folded away until asked for.
  await app.click(await app.find("#nettest-details summary"));
  const figures = await app.text(await app.find("#nettest-figures"));
  assert.match(figures, /Round trip\s+\d+(\.\d)? ms/);
  assert.match(figures, /Packet loss\s+0\.0 %/);
  assert.match(figures, /UDP \/ TCP\s+works \/ works/);
  await sleep(300);
  await app.screenshot("prejoin-nettest");
});

// A digest of the preview canvas and how many frames it has drawn.
const samplePreview = () =>
  app.exec(`const c = document.getElementById("preview");
    if (!c || !c.width) return null;
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let h = 0;
    for (let i = 0; i < d.length; i += 97) h = (h * 31 + d[i]) >>> 0;
    return { frames: Number(c.dataset.frames), hash: h, width: c.width };`);

test("the camera preview shows the test pattern moving", async () => {
  const first = await waitFor("preview frames", async () => {
    const s = await samplePreview();
    return s && s.frames > 0 ? s : null;
  });
  assert.equal(first.width, 640);
  await sleep(1500);
  const later = await samplePreview();
  assert.ok(later.frames >= first.frames + 5, `frames kept coming (${first.frames} -> ${later.frames})`);
  assert.notEqual(later.hash, first.hash, "the picture changed");
});

/** A 16-bit mono WAV of a sine tone. */
function toneWav(seconds, hz, amplitude) {
  const rate = 48000;
  const n = rate * seconds;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write("RIFF", 0);
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write("WAVEfmt ", 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write("data", 36);
  buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  return buf;
}

test("the level meter moves when sound reaches the microphone", async () => {
  const meter = () => app.exec(`return Number(document.getElementById("mic-level").value);`);
  // The microphone is the null sink's monitor: what is played into the sink is heard.
  const quiet = await waitFor("a quiet meter", async () => ((await meter()) < 0.05 ? true : null), 10000);
  assert.ok(quiet);
  const wav = path.join(tmpdir(), `huddle-tone-${process.pid}.wav`);
  writeFileSync(wav, toneWav(4, 440, 0.5));
  const player = execFileSync("bash", ["-c", `paplay --device=huddle_sink ${wav} >/dev/null 2>&1 & echo $!`], { encoding: "utf8" });
  try {
    const peak = await waitFor("the meter to rise", async () => {
      const v = await meter();
      return v > 0.2 ? v : null;
    }, 10000, 50);
    assert.ok(peak > 0.2, `meter rose to ${peak}`);
  } finally {
    try {
      process.kill(Number(player.trim()));
    } catch {
      // already finished
    }
  }
});
