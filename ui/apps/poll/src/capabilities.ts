import type { Capability } from "../../../apps-sdk/src/types";

/** What the poll uses; manifest.json lists the same. */
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
