// The apps panel and the call view's parts for apps, rendered to HTML on the server side of
// Svelte: the list with its ids, an app that cannot open, the open app's sandboxed frame and
// header, the toolbar button and the invitation prompt.
import { describe, expect, it } from "vitest";
import { render } from "svelte/server";
import AppsPanel from "./AppsPanel.svelte";
import Call from "./Call.svelte";
import { AppsStore } from "./lib/apps/appsStore.svelte";
import type { AppsApi } from "./lib/apps/appsApi";
import type { AppEntry } from "./lib/apps/types";
import { CallStore } from "./lib/callStore.svelte";
import { initialModel } from "./lib/callModel";
import { member, noAudience, session } from "./lib/fixtures";
import type { CallSnapshot } from "./lib/generated/call";

const whiteboard: AppEntry = {
  id: "whiteboard",
  name: "Whiteboard",
  description: "Draw together",
  entry: "huddleapp://localhost/whiteboard/index.html",
  icon: "huddleapp://localhost/whiteboard/icon.svg",
  capabilities: ["connect"],
  builtIn: true,
  problem: null,
};
const broken: AppEntry = { ...whiteboard, id: "agenda", name: "agenda", icon: null, builtIn: false, problem: "manifest.json has no name" };

const api: AppsApi = {
  list: async () => [whiteboard, broken],
  folder: async () => "/data/huddle/apps",
  open: async () => undefined,
  close: async () => undefined,
  message: async () => undefined,
  setState: async () => undefined,
  invite: async () => undefined,
};

async function loaded(): Promise<AppsStore> {
  const apps = new AppsStore({ api, snapshot: () => null, say: () => undefined });
  await apps.load();
  return apps;
}

describe("the apps panel", () => {
  it("lists the apps with their buttons, the broken one disabled with its problem, and the folder", async () => {
    const html = render(AppsPanel, { props: { apps: await loaded(), canInvite: true } }).body;
    expect(html).toMatch(/<button[^>]*id="open-app-whiteboard"(?![^>]*disabled)[^>]*>/);
    expect(html).toMatch(/<button[^>]*id="open-app-agenda"[^>]*disabled/);
    expect(html).toContain("Cannot be opened: manifest.json has no name");
    expect(html).toContain('src="huddleapp://localhost/whiteboard/icon.svg"');
    expect(html).toContain("/data/huddle/apps");
    expect(html).toContain('id="reload-apps"');
    expect(html).not.toContain("app-frame");
  });

  it("shows the open app in a sandboxed frame under its header", async () => {
    const apps = await loaded();
    apps.open(whiteboard);
    const html = render(AppsPanel, { props: { apps, canInvite: true } }).body;
    const frame = html.match(/<iframe[^>]*>/)?.[0] ?? "";
    expect(frame).toContain('id="app-frame"');
    expect(frame).toContain('title="Whiteboard"');
    expect(frame).toContain('sandbox="allow-scripts"');
    expect(frame).toContain('src="huddleapp://localhost/whiteboard/index.html"');
    expect(html).toContain('id="invite-all"');
    expect(html).toContain('id="close-app"');
    expect(html).toMatch(/id="expand-app"[^>]*>\s*Expand/);
    expect(html).not.toContain("open-app-");
  });

  it("offers no invitation to the audience", async () => {
    const apps = await loaded();
    apps.open(whiteboard);
    apps.setExpanded(true);
    const html = render(AppsPanel, { props: { apps, canInvite: false } }).body;
    expect(html).not.toContain('id="invite-all"');
    expect(html).toMatch(/id="expand-app"[^>]*>\s*Collapse/);
  });
});

describe("the call view's apps", () => {
  const snapshot: CallSnapshot = {
    me: 1,
    role: "host",
    session,
    members: [member(1, "host", { isMe: true, name: "Ann" }), member(2, "participant", { name: "Bob" })],
    audience: noAudience,
    lobby: [],
    link: "connected",
    metadata: [],
    myMetadata: [],
  };

  function callStore(): CallStore {
    const store = new CallStore();
    store.model = initialModel({ state: snapshot, chat: [], media: { kind: "connected" }, inviteLink: "huddle://join?session=Weekly" });
    return store;
  }

  it("has an Apps button beside the other panels", () => {
    const html = render(Call, { props: { store: callStore() } }).body;
    expect(html).toMatch(/<button[^>]*id="toggle-apps"[^>]*title="Apps"/);
    expect(html).not.toContain('id="app-invitation"');
  });

  it("prompts for the oldest invitation, with Open only for an app Huddle has", () => {
    const store = callStore();
    store.apps.apps = [whiteboard];
    store.apps.handle({ type: "app_invitation", app: "whiteboard", from: 2, fromName: "Bob" });
    // Without Svelte's hydration marks, to read the text as shown.
    const shown = () => render(Call, { props: { store } }).body.replace(/<!--.*?-->/g, "");
    let html = shown();
    expect(html).toMatch(/id="app-invitation"[^>]*>.*<bdi>Bob<\/bdi> invites you to open <bdi>Whiteboard<\/bdi>/s);
    expect(html).toContain('id="accept-invitation"');
    expect(html).toContain('id="dismiss-invitation"');
    store.apps.dismiss(store.apps.invitations[0]);
    store.apps.handle({ type: "app_invitation", app: "chess", from: 2, fromName: "Bob" });
    html = shown();
    expect(html).toContain("which this Huddle does not have");
    expect(html).not.toContain('id="accept-invitation"');
  });
});
