import { describe, expect, it } from "vitest";
import type { Capability } from "../apps-sdk/src/types";
import poll from "./poll/manifest.json";
import { CAPABILITIES as pollCapabilities } from "./poll/src/capabilities";
import whiteboard from "./whiteboard/manifest.json";
import { CAPABILITIES as whiteboardCapabilities } from "./whiteboard/src/capabilities";

// What the call view checks of a manifest (docs/apps.md §2), and that each built-in app asks
// `config` for exactly what its manifest lists.
const apps: [string, Record<string, unknown>, Capability[]][] = [
  ["whiteboard", whiteboard, whiteboardCapabilities],
  ["poll", poll, pollCapabilities],
];

describe.each(apps)("the %s manifest", (id, manifest, capabilities) => {
  it("is valid", () => {
    expect(manifest.id).toBe(id);
    expect(manifest.entry).toBe("index.html");
    expect(manifest.icon).toBe("icon.svg");
    expect(typeof manifest.name === "string" && manifest.name.length >= 1 && manifest.name.length <= 60).toBe(true);
    expect(typeof manifest.description === "string" && manifest.description.length <= 200).toBe(true);
  });

  it("lists the capabilities the app configures", () => {
    expect(manifest.capabilities).toEqual(capabilities);
  });
});
