import { describe, expect, it } from "vitest";
import { endText, noticeIsRequest, noticeText } from "./notices";
import type { EndView } from "./generated/call";

describe("noticeText", () => {
  it("names who did what", () => {
    expect(noticeText({ kind: "joined", id: 2, name: "Bo" })).toBe("Bo joined");
    expect(noticeText({ kind: "left", id: 2, name: "Bo", reason: "removed", by: "Ann" })).toBe("Bo was removed by Ann");
    expect(noticeText({ kind: "left", id: 2, name: "Bo", reason: "connection_lost", by: null })).toBe(
      "Bo lost their connection",
    );
    expect(noticeText({ kind: "your_role_changed", by: "Ann", role: "manager" })).toBe("Ann made you a manager");
    expect(noticeText({ kind: "your_role_changed", by: "Ann", role: "audience" })).toBe("Ann made you part of the audience");
    expect(noticeText({ kind: "reaction", id: 2, name: "Bo", reaction: "tada" })).toBe("Bo 🎉");
  });
  it("marks an unmute request as a request", () => {
    expect(noticeIsRequest({ kind: "unmute_requested", by: "Ann" })).toBe(true);
    expect(noticeIsRequest({ kind: "you_were_muted", by: "Ann" })).toBe(false);
  });
});

describe("endText", () => {
  it("says why the session ended, for every reason", () => {
    const reasons: EndView[] = [
      { kind: "left" },
      { kind: "removed", by: "Ann" },
      { kind: "ended_by_host", by: "Ann" },
      { kind: "idle_timeout" },
      { kind: "empty" },
      { kind: "server_shutdown" },
      { kind: "resume_refused", detail: "too late" },
      { kind: "connection_lost", detail: "timed out" },
    ];
    const titles = reasons.map((r) => endText(r).title);
    expect(titles).toEqual([
      "You left the session",
      "You were removed from the session",
      "The host ended the session",
      "The session ended",
      "The session ended",
      "The server shut down",
      "You were disconnected",
      "You were disconnected",
    ]);
    expect(endText({ kind: "removed", by: "Ann" }).detail).toBe("Ann removed you.");
    expect(endText({ kind: "ended_by_host", by: null }).detail).toMatch(/ended for everyone/);
  });
});
