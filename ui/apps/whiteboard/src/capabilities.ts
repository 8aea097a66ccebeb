import type { Capability } from "../../../apps-sdk/src/types";

/** What the whiteboard uses; manifest.json lists the same. */
export const CAPABILITIES: Capability[] = [
  "getUserContext",
  "getMeetingParticipants",
  "connect",
  "postMessage",
  "setSharedState",
  "onMessage",
  "onConnect",
  "onParticipantChange",
];
