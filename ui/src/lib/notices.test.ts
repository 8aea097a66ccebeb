import { describe, expect, it } from "vitest";
import { endText, noticeIsRequest, noticeText } from "./notices";
import type { EndView } from "./generated/call";
import { plain } from "./named";

describe("noticeText", () => {
  it("names who did what", () => {
    expect(plain(noticeText({ kind: "joined", id: 2, name: "Bo" }))).toBe("Bo joined");
    expect(plain(noticeText({ kind: "left", id: 2, name: "Bo", reason: "removed", by: "Ann" }))).toBe("Bo was removed by Ann");
    expect(plain(noticeText({ kind: "left", id: 2, name: "Bo", reason: "connection_lost", by: null }))).toBe(
      "Bo lost their connection",
    );
    expect(plain(noticeText({ kind: "your_role_changed", by: "Ann", role: "manager" }))).toBe("Ann made you a manager");
    expect(plain(noticeText({ kind: "your_role_changed", by: "Ann", role: "audience" }))).toBe("Ann made you part of the audience");
    expect(plain(noticeText({ kind: "reaction", id: 2, name: "Bo", reaction: "tada" }))).toBe("Bo 🎉");
  });
  it("marks every name, and only names", () => {
    expect(noticeText({ kind: "left", id: 2, name: "Bo", reason: "removed", by: "Ann" })).toEqual([
      { name: "Bo" },
      " was removed by ",
      { name: "Ann" },
    ]);
    expect(noticeText({ kind: "you_were_renamed", by: "Ann", name: "Bob" })).toEqual([
      { name: "Ann" },
      " renamed you to ",
      { name: "Bob" },
    ]);
    expect(noticeText({ kind: "session_ended", reason: { kind: "empty" } })).toEqual(["The session ended"]);
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
    expect(plain(endText({ kind: "removed", by: "Ann" }).detail)).toBe("Ann removed you.");
    expect(plain(endText({ kind: "ended_by_host", by: null }).detail)).toMatch(/ended for everyone/);
    // The name is marked, so that the closing screen isolates it.
    expect(endText({ kind: "ended_by_host", by: "Ann" }).detail).toEqual([{ name: "Ann" }, " ended the session for everyone."]);
  });
});
