// The entry of huddle-apps-sdk.js: an app's classic scripts find the SDK as `window.huddleApps`.
// Types for app authors are in types.ts (and global.d.ts declares the global).
import { createSdk } from "./sdk";
import { windowTransport } from "./transport";

Object.defineProperty(window, "huddleApps", {
  value: createSdk(windowTransport(window)),
  enumerable: true,
});
