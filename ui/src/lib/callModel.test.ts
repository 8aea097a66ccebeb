import { describe, expect, it } from "vitest";
import { applyEvent, cameraNote, dismiss, expire, initialModel, MAX_TOASTS, mediaNote, myself, say, TOAST_MS } from "./callModel";
import { member as fixture, noAudience, session } from "./fixtures";
import type { CallSnapshot, JoinedView, MemberView } from "./generated/call";
import { plain } from "./named";

const member = (id: number, over: Partial<MemberView> = {}) =>
  fixture(id, id === 1 ? "host" : "participant", { isMe: id === 1, ...over });

const snapshot: CallSnapshot = {
  me: 1,
  role: "host",
  session,
  members: [member(1), member(2)],
  audience: noAudience,
  lobby: [],
  metadata: [],
  myMetadata: [],
  link: "connected",
};
const joined: JoinedView = {
  state: snapshot,
  chat: [{ seq: 1, from: 2, fromName: "m2", to: null, text: "hi" }],
  media: { kind: "connecting" },
  inviteLink: "huddle://join?session=Weekly&server=127.0.0.1%3A7880",
};

describe("the call model", () => {
  it("starts from the join's state and chat", () => {
    const m = initialModel(joined);
    expect(m.chat).toHaveLength(1);
    expect(myself(m)?.id).toBe(1);
    expect(m.ended).toBeNull();
    expect(m.inviteLink).toBe(joined.inviteLink);
  });

  it("shows the app's own notes like the call's, for a while", () => {
    const m = say(initialModel(joined), "Invite link copied.", 1000);
    expect(m.toasts.map((t) => plain(t.text))).toEqual(["Invite link copied."]);
    expect(m.toasts[0].until).toBe(1000 + TOAST_MS);
  });

  it("follows my camera, and says why it fails", () => {
    let m = initialModel(joined);
    expect(cameraNote(m.camera)).toBeNull();
    const busy = "The camera is in use by another app. Close it there, or pick another camera.";
    m = applyEvent(m, {
      type: "camera",
      camera: { kind: "failed", error: { kind: "device_busy", message: busy, detail: "camera v4l:/dev/video0 is busy" } },
    }, 0);
    expect(cameraNote(m.camera)).toBe(busy);
    m = applyEvent(m, { type: "camera", camera: { kind: "live" } }, 0);
    expect(cameraNote(m.camera)).toBeNull();
  });

  it("says why my screen share stopped, for a while", () => {
    let m = initialModel(joined);
    const gone = "The screen was disconnected. Pick another one to share.";
    m = applyEvent(m, {
      type: "share_stopped",
      error: { kind: "device_unplugged", message: gone, detail: "screen x11:HDMI-1 was unplugged" },
    }, 1000);
    expect(m.toasts.map((t) => plain(t.text))).toEqual([`Screen sharing stopped. ${gone}`]);
    expect(m.toasts[0].until).toBe(1000 + TOAST_MS);
  });

  it("keeps the latest connection grades, and only those", () => {
    let m = initialModel(joined);
    m = applyEvent(m, { type: "quality", members: [{ id: 1, quality: "good" }, { id: 2, quality: "poor" }] }, 0);
    expect(m.quality[2]).toBe("poor");
    m = applyEvent(m, { type: "quality", members: [{ id: 1, quality: "fair" }] }, 0);
    expect(m.quality).toEqual({ 1: "fair" });
  });

  it("replaces the state and merges chat without duplicates", () => {
    let m = initialModel(joined);
    const next = { ...snapshot, members: [member(1), member(2, { audioMuted: true })] };
    m = applyEvent(m, { type: "state", state: next }, 0);
    expect(m.state.members[1].audioMuted).toBe(true);
    m = applyEvent(m, { type: "chat", message: joined.chat[0] }, 0);
    m = applyEvent(m, { type: "chat", message: { seq: 2, from: 1, fromName: "m1", to: 2, text: "psst" } }, 0);
    expect(m.chat.map((c) => c.seq)).toEqual([1, 2]);
  });

  it("turns notices into toasts that expire, and requests into toasts that stay", () => {
    let m = initialModel(joined);
    m = applyEvent(m, { type: "notice", notice: { kind: "you_were_muted", by: "Ann" } }, 1000);
    m = applyEvent(m, { type: "notice", notice: { kind: "unmute_requested", by: "Ann" } }, 1000);
    expect(m.toasts.map((t) => plain(t.text))).toEqual(["Ann muted you", "Ann asks you to unmute"]);
    m = expire(m, 1000 + TOAST_MS + 1);
    expect(m.toasts.map((t) => t.request)).toEqual([true]);
    m = dismiss(m, m.toasts[0].id);
    expect(m.toasts).toEqual([]);
  });

  it("keeps a bounded number of toasts", () => {
    let m = initialModel(joined);
    for (let i = 0; i < 10; i++) m = applyEvent(m, { type: "notice", notice: { kind: "joined", id: 10 + i, name: `n${i}` } }, 0);
    expect(m.toasts).toHaveLength(MAX_TOASTS);
    expect(plain(m.toasts[MAX_TOASTS - 1].text)).toBe("n9 joined");
  });

  it("shows reactions over the tile for a while", () => {
    let m = initialModel(joined);
    m = applyEvent(m, { type: "notice", notice: { kind: "reaction", id: 2, name: "m2", reaction: "clap" } }, 0);
    expect(m.reactions).toEqual([{ member: 2, reaction: "clap", until: 4000 }]);
    expect(expire(m, 5000).reactions).toEqual([]);
  });

  it("tracks the link and says when it is back", () => {
    let m = initialModel(joined);
    m = applyEvent(m, { type: "link", link: "reconnecting" }, 0);
    expect(m.link).toBe("reconnecting");
    m = applyEvent(m, { type: "link", link: "connected" }, 0);
    expect(m.link).toBe("connected");
    expect(m.toasts.map((t) => plain(t.text))).toEqual(["Reconnected"]);
  });

  it("ends on closed, and nothing after changes the reason", () => {
    let m = initialModel(joined);
    m = applyEvent(m, { type: "notice", notice: { kind: "session_ended", reason: { kind: "ended_by_host", by: "Ann" } } }, 0);
    expect(m.toasts).toEqual([]);
    m = applyEvent(m, { type: "closed", reason: { kind: "ended_by_host", by: "Ann" } }, 0);
    m = applyEvent(m, { type: "closed", reason: { kind: "left" } }, 0);
    expect(m.ended).toEqual({ kind: "ended_by_host", by: "Ann" });
    expect(m.link).toBe("closed");
  });
});

describe("the media link", () => {
  it("starts connecting, and the note goes once media flows", () => {
    let m = initialModel(joined);
    expect(mediaNote(m.media)).toMatch(/Connecting audio and video/);
    m = applyEvent(m, { type: "media", media: { kind: "connected" } }, 0);
    expect(mediaNote(m.media)).toBeNull();
    m = applyEvent(m, { type: "media", media: { kind: "unavailable", detail: "the server forwards no media" } }, 0);
    expect(mediaNote(m.media)).toBe("No audio or video in this call: the server forwards no media");
  });
});
