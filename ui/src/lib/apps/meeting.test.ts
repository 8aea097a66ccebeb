import { describe, expect, it } from "vitest";
import { member, noAudience, session } from "../fixtures";
import type { CallSnapshot } from "../generated/call";
import { plain } from "../named";
import { activeSpeakers, bridgeSnapshot, myMedia, notificationText, participantChanges, rosterOf } from "./meeting";

const snapshot: CallSnapshot = {
  me: 1,
  role: "participant",
  session,
  members: [
    member(1, "participant", { isMe: true, name: "Ann", audioMuted: true, sharing: true }),
    member(2, "host", { name: "Bob", talking: true, videoOn: true }),
    member(3, "participant", { name: "Cy", talking: true, handRaised: true }),
  ],
  audience: { ...noAudience, count: 12 },
  lobby: [],
  link: "connected",
  metadata: [],
  myMetadata: [],
};

describe("the meeting as apps see it", () => {
  it("tells joins, renames, role changes and leaves between two rosters", () => {
    const before = rosterOf([member(1, "host", { name: "Ann" }), member(2, "participant", { name: "Bob" }), member(3, "participant", { name: "Cy" })]);
    const after = rosterOf([
      member(1, "host", { name: "Ann", audioMuted: true }),
      member(2, "manager", { name: "Bob" }),
      member(3, "participant", { name: "Cyrus" }),
      member(4, "participant", { name: "Dee" }),
    ]);
    expect(participantChanges(before, after)).toEqual([
      { status: "changed", participantId: 2, displayName: "Bob", role: "manager" },
      { status: "changed", participantId: 3, displayName: "Cyrus", role: "participant" },
      { status: "joined", participantId: 4, displayName: "Dee", role: "participant" },
    ]);
    expect(participantChanges(after, rosterOf([member(4, "participant", { name: "Dee" })]))).toEqual([
      { status: "left", participantId: 1, displayName: "Ann", role: "host" },
      { status: "left", participantId: 2, displayName: "Bob", role: "manager" },
      { status: "left", participantId: 3, displayName: "Cyrus", role: "participant" },
    ]);
    expect(participantChanges(after, after)).toEqual([]);
  });

  it("reads the speakers, my media and what the bridge answers from a snapshot", () => {
    expect(activeSpeakers(snapshot.members)).toEqual([2, 3]);
    expect(myMedia(snapshot)).toEqual({ audioMuted: true, videoOn: false, sharing: true });
    const b = bridgeSnapshot(snapshot, "0.9.0");
    expect(b.clientVersion).toBe("0.9.0");
    expect(b.sessionName).toBe("Weekly");
    expect(b.meetingId).toBe("Weekly");
    expect(b.me).toEqual({ id: 1, name: "Ann", role: "participant" });
    expect(b.audienceCount).toBe(12);
    expect(b.members[2]).toEqual({ id: 3, name: "Cy", role: "participant", audioMuted: false, videoOn: false, handRaised: true });
  });

  it("shows an app's notification as a short note, its words isolated", () => {
    expect(plain(notificationText("Poll", "info", "Voting closed", "3 votes"))).toBe("Poll: Voting closed — 3 votes");
    expect(plain(notificationText("Poll", "warning", "", "One minute left"))).toBe("Poll (warning): One minute left");
    const parts = notificationText("Poll", "error", "x".repeat(500), "y".repeat(500));
    expect(parts.filter((p) => typeof p !== "string")).toHaveLength(3);
    const text = plain(parts);
    expect(text.length).toBeLessThan(400);
    expect(text).toContain("…");
  });
});
