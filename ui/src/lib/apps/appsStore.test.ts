import { describe, expect, it, vi } from "vitest";
import { member, noAudience, session } from "../fixtures";
import type { CallSnapshot, MemberView } from "../generated/call";
import { plain, type Part } from "../named";
import type { AppsApi } from "./appsApi";
import { AppsStore, withInvitation } from "./appsStore.svelte";
import type { FrameAnswer, FrameEvent, ToFrame } from "./bridge";
import type { AppEntry } from "./types";

const whiteboard: AppEntry = {
  id: "whiteboard",
  name: "Whiteboard",
  description: "Draw together",
  entry: "huddleapp://localhost/whiteboard/index.html",
  icon: "huddleapp://localhost/whiteboard/icon.svg",
  capabilities: ["getUserContext", "connect", "postMessage", "onMessage", "onConnect", "onParticipantChange",
    "onActiveSpeakerChange", "onMyMediaChange", "onExpandApp", "expandApp", "showNotification", "closeApp"],
  builtIn: true,
  problem: null,
};
const poll: AppEntry = { ...whiteboard, id: "poll", name: "Poll", entry: "huddleapp://localhost/poll/index.html" };
const broken: AppEntry = { ...whiteboard, id: "agenda", name: "agenda", builtIn: false, problem: "manifest.json: no name" };

function snapshotWith(members: MemberView[]): CallSnapshot {
  return { me: 1, role: "host", session, members, audience: noAudience, lobby: [], link: "connected", metadata: [], myMetadata: [] };
}
const ann = (over: Partial<MemberView> = {}) => member(1, "host", { isMe: true, name: "Ann", ...over });
const bob = (over: Partial<MemberView> = {}) => member(2, "participant", { name: "Bob", ...over });

function setup() {
  const api = {
    list: vi.fn(async () => [whiteboard, poll, broken]),
    folder: vi.fn(async () => "/data/apps"),
    open: vi.fn(async (_app: string) => undefined),
    close: vi.fn(async (_app: string) => undefined),
    message: vi.fn(async (_app: string, _data: unknown) => undefined),
    setState: vi.fn(async (_app: string, _state: unknown) => undefined),
    invite: vi.fn(async (_app: string, _to: number[] | null) => undefined),
  } satisfies AppsApi;
  let snap: CallSnapshot | null = snapshotWith([ann(), bob()]);
  const notes: Part[][] = [];
  const store = new AppsStore({ api, snapshot: () => snap, say: (p) => notes.push(p), version: async () => "0.1.0", now: () => 0 });
  const posted: ToFrame[] = [];
  const frame = { postMessage: (m: ToFrame) => posted.push(m) } as unknown as Window;
  let id = 1;
  async function call(method: string, params?: unknown): Promise<FrameAnswer | undefined> {
    const mine = id++;
    await store.bridge?.handle({ huddleApps: 1, id: mine, method, params });
    return posted.find((m): m is FrameAnswer => "id" in m && m.id === mine);
  }
  const events = () => posted.filter((m): m is FrameEvent => "event" in m);
  return { api, store, frame, posted, notes, call, events, setSnapshot: (s: CallSnapshot | null) => (snap = s) };
}

/** Opens the whiteboard in a frame, configured for everything its manifest has. */
async function opened() {
  const t = setup();
  await t.store.load();
  t.store.open(whiteboard);
  t.store.attach(t.frame);
  await t.call("config", { capabilities: whiteboard.capabilities });
  return t;
}

describe("the apps store", () => {
  it("loads the apps and the folder, and keeps a failure to show", async () => {
    const t = setup();
    await t.store.load();
    expect(t.store.apps.map((a) => a.id)).toEqual(["whiteboard", "poll", "agenda"]);
    expect(t.store.folder).toBe("/data/apps");
    expect(t.store.loadError).toBeNull();
    t.api.list.mockRejectedValueOnce({ kind: "storage", message: "The apps folder cannot be read.", detail: null });
    await t.store.load();
    expect(t.store.loadError).toBe("The apps folder cannot be read.");
    expect(t.store.loading).toBe(false);
  });

  it("opens one app at a time, never one with a problem", async () => {
    const t = setup();
    await t.store.load();
    t.store.open(broken);
    expect(t.store.current).toBeNull();
    t.store.open(whiteboard);
    const first = t.store.current?.instance;
    t.store.open(poll);
    expect(t.store.current?.app.id).toBe("poll");
    expect(t.store.current?.instance).not.toBe(first);
    // Nothing was connected, so no channel to leave.
    expect(t.api.close).not.toHaveBeenCalled();
  });

  it("answers the frame through the bridge and connects through the session", async () => {
    const t = await opened();
    expect((t.posted[0] as FrameAnswer).result).toMatchObject({ clientVersion: "0.1.0", runningContext: "inMeeting" });
    const connecting = t.call("connect");
    expect(t.api.open).toHaveBeenCalledWith("whiteboard");
    // Another app's opening is not this one's.
    t.store.handle({ type: "app_opened", app: "poll", state: null, recent: [] });
    t.store.handle({ type: "app_opened", app: "whiteboard", state: { v: 1 }, recent: [{ app: "whiteboard", seq: 1, from: 2, data: "x" }] });
    expect((await connecting)?.result).toEqual({ state: { v: 1 }, recent: [{ seq: 1, from: 2, fromMe: false, payload: "x" }] });
    t.store.handle({ type: "app_message", message: { app: "poll", seq: 9, from: 2, data: "no" } });
    t.store.handle({ type: "app_message", message: { app: "whiteboard", seq: 2, from: 1, data: "yes" } });
    expect(t.events().map((e) => e.event)).toEqual(["onConnect", "onMessage"]);
    expect(t.events()[1].payload).toEqual({ seq: 2, from: 1, fromMe: true, payload: "yes" });
    expect((await t.call("postMessage", { payload: { line: [1, 2] } }))?.result).toEqual({});
    expect(t.api.message).toHaveBeenCalledWith("whiteboard", { line: [1, 2] });
    // Closing leaves the channel, once.
    t.store.close();
    expect(t.api.close).toHaveBeenCalledTimes(1);
    expect(t.store.current).toBeNull();
    expect(t.store.bridge).toBeNull();
  });

  it("lets the app close itself, expand, and show a note", async () => {
    const t = await opened();
    expect((await t.call("expandApp", { action: "expand" }))?.result).toEqual({ expanded: true });
    expect(t.store.expanded).toBe(true);
    t.store.setExpanded(false);
    expect(t.events().map((e) => e.payload)).toEqual([{ expanded: true }, { expanded: false }]);
    await t.call("showNotification", { type: "info", title: "Saved", message: "The board is saved" });
    expect(t.notes.map(plain)).toEqual(["Whiteboard: Saved — The board is saved"]);
    await t.call("closeApp");
    expect(t.store.current).toBeNull();
    expect(t.store.expanded).toBe(false);
  });

  it("tells the open app who joined, left, changed, speaks, and my media", async () => {
    const t = await opened();
    t.store.observe(snapshotWith([ann(), bob()]));
    expect(t.events()).toEqual([]);
    t.store.observe(snapshotWith([ann({ audioMuted: true }), bob({ name: "Robert", talking: true }), member(3, "audience", { name: "Cy" })]));
    expect(t.events().map((e) => [e.event, e.payload])).toEqual([
      ["onParticipantChange", { participants: [
        { status: "changed", participantId: 2, displayName: "Robert", role: "participant" },
        { status: "joined", participantId: 3, displayName: "Cy", role: "audience" },
      ] }],
      ["onActiveSpeakerChange", { participantIds: [2] }],
      ["onMyMediaChange", { audioMuted: true, videoOn: false, sharing: false }],
    ]);
    t.posted.length = 0;
    t.store.observe(snapshotWith([ann({ audioMuted: true })]));
    expect(t.events().map((e) => [e.event, e.payload])).toEqual([
      ["onParticipantChange", { participants: [
        { status: "left", participantId: 2, displayName: "Robert", role: "participant" },
        { status: "left", participantId: 3, displayName: "Cy", role: "audience" },
      ] }],
      ["onActiveSpeakerChange", { participantIds: [] }],
    ]);
  });

  it("keeps one invitation per app and sender, none from me or for the app open", async () => {
    const t = await opened();
    const from = (app: string, who: number) => ({ type: "app_invitation" as const, app, from: who, fromName: `m${who}` });
    t.store.handle(from("poll", 2));
    t.store.handle(from("poll", 2));
    t.store.handle(from("poll", 3));
    t.store.handle(from("whiteboard", 2));
    t.store.handle(from("poll", 1));
    expect(t.store.invitations).toEqual([
      { app: "poll", from: 2, fromName: "m2" },
      { app: "poll", from: 3, fromName: "m3" },
    ]);
    t.store.dismiss(t.store.invitations[1]);
    expect(t.store.invitations).toHaveLength(1);
    // Accepting opens the app in place of the whiteboard.
    expect(t.store.accept(t.store.invitations[0])).toBe(true);
    expect(t.store.current?.app.id).toBe("poll");
    expect(t.store.invitations).toEqual([]);
    expect(withInvitation([], { app: "poll", from: 2, fromName: "m2" }, "poll")).toEqual([]);
  });

  it("reloads the list for an invitation to an app it does not know, and cannot open it", async () => {
    const t = setup();
    await t.store.load();
    t.store.handle({ type: "app_invitation", app: "chess", from: 2, fromName: "Bob" });
    expect(t.api.list).toHaveBeenCalledTimes(2);
    expect(t.store.nameOf("chess")).toBe("chess");
    expect(t.store.accept(t.store.invitations[0])).toBe(false);
    expect(t.store.current).toBeNull();
  });

  it("invites everyone to the open app, and says why it could not", async () => {
    const t = await opened();
    await t.store.inviteAll();
    expect(t.api.invite).toHaveBeenCalledWith("whiteboard", null);
    expect(t.notes.map(plain)).toEqual(["Everyone was invited to open Whiteboard."]);
    t.api.invite.mockRejectedValueOnce({ kind: "rate_limited", message: "Slow down a little.", detail: null });
    await t.store.inviteAll();
    expect(t.store.error).toBe("Slow down a little.");
  });

  it("resets everything when the call ends", async () => {
    const t = await opened();
    const connecting = t.call("connect");
    t.store.handle({ type: "app_invitation", app: "poll", from: 2, fromName: "Bob" });
    t.store.setExpanded(true);
    const before = t.posted.length;
    t.store.reset();
    await connecting;
    expect(t.store.current).toBeNull();
    expect(t.store.expanded).toBe(false);
    expect(t.store.invitations).toEqual([]);
    expect(t.store.bridge).toBeNull();
    // The call is gone: there is no channel to leave, and the frame hears nothing more.
    expect(t.api.close).not.toHaveBeenCalled();
    t.store.handle({ type: "app_opened", app: "whiteboard", state: null, recent: [] });
    expect(t.posted.length).toBe(before);
  });
});
