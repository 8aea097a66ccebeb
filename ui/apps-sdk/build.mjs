// Builds the apps SDK and the built-in apps into ui/dist/apps/, after the main UI's build:
// each script is one classic IIFE (the apps' frames have an opaque origin, where module
// scripts would need CORS), next to the app's static files; the apps' base stylesheet goes
// next to the SDK.
import { copyFile, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "vite";

const ui = fileURLToPath(new URL("..", import.meta.url));
const out = `${ui}dist/apps`;
const APPS = ["whiteboard", "poll"];
const STATIC_FILES = ["manifest.json", "index.html", "app.css", "icon.svg"];

// Vite wants a global name for an IIFE; no entry exports anything, so none is ever defined
// (the SDK puts itself on `window`).
async function bundle(entry, outDir, fileName, name) {
  await build({
    configFile: false,
    root: ui,
    publicDir: false,
    logLevel: "warn",
    build: {
      outDir,
      emptyOutDir: false,
      target: "safari15",
      minify: false,
      lib: { entry, formats: ["iife"], name, fileName: () => fileName },
    },
  });
}

await bundle(`${ui}apps-sdk/src/index.ts`, `${out}/sdk`, "huddle-apps-sdk.js", "huddleApps");
await copyFile(`${ui}apps-sdk/huddle-apps.css`, `${out}/sdk/huddle-apps.css`);
for (const app of APPS) {
  const dir = `${ui}apps/${app}`;
  await bundle(`${dir}/src/main.ts`, `${out}/${app}`, "app.js", app);
  await mkdir(`${out}/${app}`, { recursive: true });
  for (const file of STATIC_FILES) await copyFile(`${dir}/${file}`, `${out}/${app}/${file}`);
}
console.log(`apps: built the SDK and ${APPS.join(", ")} into ui/dist/apps/`);
