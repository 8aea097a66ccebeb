// The global the SDK script defines, for apps written in TypeScript.
import type { HuddleApps } from "./types";

declare global {
  interface Window {
    readonly huddleApps: HuddleApps;
  }
  const huddleApps: HuddleApps;
}
