// Every display name the call view shows is isolated (a <bdi>, or isolate marks where only a
// string can go), so that a name cannot reorder the words around it. The components are
// rendered to HTML on the server side of Svelte: no DOM is needed.
import { describe, expect, it } from "vitest";
import { render } from "svelte/server";
import Call from "./Call.svelte";
import ChatPanel from "./ChatPanel.svelte";
import Ended from "./Ended.svelte";
import Named from "./Named.svelte";
import UserList from "./UserList.svelte";
import VideoTile from "./VideoTile.svelte";
import { AppsStore } from "./lib/apps/appsStore.svelte";
import { applyEvent, initialModel } from "./lib/callModel";
import type { CallStore } from "./lib/callStore.svelte";
import { member, noAudience, session } from "./lib/fixtures";
import type { CallSnapshot } from "./lib/generated/call";
import { isolate, who } from "./lib/named";
import { noticeText } from "./lib/notices";

// RIGHT-TO-LEFT OVERRIDE: shown inline, "‮Eve joined" would read "denioj evE".
const RLO = "\u202e";
const EVE = `${RLO}Eve`;

/** The text the HTML shows, each <bdi> as ⟦…⟧; markup and Svelte's comments dropped. */
function shown(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<bdi>/g, "⟦")
    .replace(/<\/bdi>/g, "⟧")
    .replace(/<[^>]*>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

/** What is left of `text` outside every isolate: <bdi>s and FSI…PDI runs. */
function outsideIsolates(text: string): string {
  return text.replace(/⟦[^⟧]*⟧/g, "").replace(/\u2068[^\u2069]*\u2069/g, "");
}

/** Checks that `name` shows, but only inside isolates, and returns the shown text. */
function isolatedIn(html: string, name = EVE): string {
  const text = shown(html);
  expect(text).toContain(`⟦${name}⟧`);
  expect(outsideIsolates(text)).not.toContain(RLO);
  return text;
}

const snapshot: CallSnapshot = {
  me: 1,
  role: "host",
  session,
  members: [member(1, "host", { isMe: true, name: "Ann" }), member(2, "participant", { name: EVE, handRaised: true })],
  audience: noAudience,
  lobby: [],
  metadata: [],
  myMetadata: [],
  link: "connected",
};

describe("Named", () => {
  it("puts each name in a <bdi> and our words outside it", () => {
    const { body } = render(Named, { props: { parts: noticeText({ kind: "you_were_renamed", by: EVE, name: "مريم" }) } });
    const text = isolatedIn(body);
    expect(text).toBe(`⟦${EVE}⟧ renamed you to ⟦مريم⟧`);
  });
});

describe("isolate", () => {
  it("wraps a name in FSI and PDI, dropping isolate marks that would end it early", () => {
    expect(isolate(EVE)).toBe(`\u2068${EVE}\u2069`);
    expect(isolate("Eve\u2069\u2066")).toBe("\u2068Eve\u2069");
    expect(who("Ann")).toEqual({ name: "Ann" });
  });
});

describe("the call view isolates display names", () => {
  it("in the user list and the host panel", () => {
    const text = isolatedIn(render(UserList, { props: { snapshot, onendforall: () => undefined } }).body);
    expect(text).toContain("⟦Ann⟧ (you)");
    expect(text).toContain("Host controls");
  });

  it("on video tiles, camera and screen", () => {
    const camera = isolatedIn(render(VideoTile, { props: { member: snapshot.members[1] } }).body);
    expect(camera).toContain(`⟦${EVE}⟧`);
    const screen = isolatedIn(render(VideoTile, { props: { member: snapshot.members[1], screen: true } }).body);
    expect(screen).toContain(`⟦${EVE}⟧'s screen`);
    const mine = shown(render(VideoTile, { props: { member: snapshot.members[0] } }).body);
    expect(mine).toContain("⟦Ann⟧ (you)");
  });

  it("in chat headings and the recipient menu", () => {
    const chat = [
      { seq: 1, from: 2, fromName: EVE, to: null, text: "hi" },
      { seq: 2, from: 1, fromName: "Ann", to: 2, text: "psst" },
    ];
    const text = isolatedIn(render(ChatPanel, { props: { snapshot, chat, canChat: true } }).body);
    expect(text).toContain(`⟦${EVE}⟧ to everyone`);
    expect(text).toContain(`You to ⟦${EVE}⟧ (privately)`);
    // An <option> takes only text: the name sits between isolate marks.
    expect(text).toContain(`\u2068${EVE}\u2069 (privately)`);
  });

  it("in notices", () => {
    let model = initialModel({ state: snapshot, chat: [], media: { kind: "connected" }, inviteLink: "huddle://join?session=Weekly" });
    model = applyEvent(model, { type: "notice", notice: { kind: "joined", id: 2, name: EVE } }, 0);
    model = applyEvent(model, { type: "notice", notice: { kind: "unmute_requested", by: EVE } }, 0);
    const store = {
      model,
      media: { cameraId: null, microphoneId: null, speakerId: null, mirror: true },
      endedByMe: false,
      apps: new AppsStore({ snapshot: () => null, say: () => undefined }),
    } as unknown as CallStore;
    const text = isolatedIn(render(Call, { props: { store } }).body);
    expect(text).toContain(`⟦${EVE}⟧ joined`);
    expect(text).toContain(`⟦${EVE}⟧ asks you to unmute`);
  });

  it("on the closing screen", () => {
    const props = { reason: { kind: "removed" as const, by: EVE }, endedByMe: false, session: "Weekly", onback: () => undefined };
    expect(isolatedIn(render(Ended, { props }).body)).toContain(`⟦${EVE}⟧ removed you.`);
  });
});
