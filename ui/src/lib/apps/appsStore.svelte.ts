// The apps of the call view: the list Huddle can open, the one app open (with its bridge),
// whether it has the stage, and the invitations others sent. The call store owns it: it
// routes the channel's app events here, shows each new snapshot, and resets it when the
// call ends. The panel owns the frame and hands over only what that frame posts.
import type { CallSnapshot } from "../generated/call";
import type { Part } from "../named";
import { AppBridge, failureMessage, type AppHost, type MyMedia, type ToFrame } from "./bridge";
import { appsApi, type AppsApi } from "./appsApi";
import {
  activeSpeakers,
  bridgeSnapshot,
  myMedia,
  notificationText,
  participantChanges,
  rosterOf,
  sameIds,
  sameMedia,
  type Roster,
} from "./meeting";
import type { AppCallEvent, AppEntry } from "./types";

/** "Bob invites you to open Whiteboard": one per app and sender, until answered. */
export interface Invitation {
  app: string;
  from: number;
  fromName: string;
}

/** The open app; `instance` tells two openings of the same app apart (a new frame each). */
export interface OpenApp {
  app: AppEntry;
  instance: number;
}

export interface AppsDeps {
  api: AppsApi;
  /** The call's snapshot, while there is a call. */
  snapshot: () => CallSnapshot | null;
  /** Shows a note in the call view. */
  say: (text: Part[]) => void;
  /** This build's version, for the SDK's `config`. */
  version: () => Promise<string>;
  now: () => number;
}

/** The same invitation again adds nothing; one for the app already open neither. */
export function withInvitation(list: readonly Invitation[], inv: Invitation, openApp: string | null): Invitation[] {
  if (inv.app === openApp || list.some((i) => i.app === inv.app && i.from === inv.from)) return [...list];
  return [...list, inv];
}

export class AppsStore {
  apps: AppEntry[] = $state.raw([]);
  /** Where installed apps live; null until known. */
  folder: string | null = $state(null);
  loading = $state(false);
  loadError: string | null = $state(null);
  current: OpenApp | null = $state.raw(null);
  /** The open app has the stage rather than the panel. */
  expanded = $state(false);
  invitations: Invitation[] = $state.raw([]);
  /** The last failure of something the user asked of an app (an invitation). */
  error: string | null = $state(null);

  readonly #deps: AppsDeps;
  #bridge: AppBridge | null = null;
  #frame: Window | null = null;
  /** The open app's channel was asked to open, so closing the app must leave it. */
  #channelOpen = false;
  #instances = 0;
  #version = "";
  #roster: Roster = new Map();
  #speakers: number[] = [];
  #media: MyMedia | null = null;

  constructor(deps: Partial<AppsDeps> & Pick<AppsDeps, "snapshot" | "say">) {
    this.#deps = {
      api: appsApi,
      version: () => Promise.resolve(""),
      now: () => Date.now(),
      ...deps,
    };
  }

  /** The open app's bridge (for tests and the panel's checks). */
  get bridge(): AppBridge | null {
    return this.#bridge;
  }

  /** (Re)reads the apps list and the folder; a failure is kept to show in the panel. */
  async load(): Promise<void> {
    this.loading = true;
    this.loadError = null;
    try {
      const [apps, folder, version] = await Promise.all([
        this.#deps.api.list(),
        this.#deps.api.folder(),
        this.#deps.version().catch(() => ""),
      ]);
      this.apps = apps;
      this.folder = folder;
      this.#version = version;
    } catch (err) {
      this.loadError = failureMessage(err);
    } finally {
      this.loading = false;
    }
  }

  /** The name of an app by id, or the id when it is not in the list. */
  nameOf(app: string): string {
    return this.apps.find((a) => a.id === app)?.name ?? app;
  }

  /** Opens `app` in the panel, in place of any app open. Its channel opens at its `connect`. */
  open(app: AppEntry): void {
    if (app.problem !== null) return;
    if (this.current) this.close();
    this.#channelOpen = false;
    this.current = { app, instance: ++this.#instances };
    this.invitations = this.invitations.filter((i) => i.app !== app.id);
    this.#startBridge(app);
  }

  /** A fresh bridge for the app's frame, seeing the meeting as it is now. */
  #startBridge(app: AppEntry): void {
    const s = this.#deps.snapshot();
    this.#roster = s ? rosterOf(s.members) : new Map();
    this.#speakers = s ? activeSpeakers(s.members) : [];
    this.#media = s ? myMedia(s) : null;
    const api = this.#deps.api;
    const id = app.id;
    let bridge: AppBridge;
    const mine = () => this.#bridge === bridge;
    const host: AppHost = {
      snapshot: () => {
        const now = this.#deps.snapshot();
        if (!now) throw new Error("The call is over.");
        return bridgeSnapshot(now, this.#version);
      },
      open: () => {
        this.#channelOpen = true;
        return api.open(id);
      },
      message: (data) => api.message(id, data),
      setState: (state) => api.setState(id, state),
      invite: (to) => api.invite(id, to),
      notify: (type, title, message) => this.#deps.say(notificationText(app.name, type, title, message)),
      expand: (on) => {
        if (mine()) this.setExpanded(on);
      },
      close: () => {
        if (mine()) this.close();
      },
      now: () => this.#deps.now(),
    };
    bridge = new AppBridge(app, (m: ToFrame) => this.#frame?.postMessage(m, "*"), host);
    this.#bridge = bridge;
  }

  /** The panel's frame of the open app (null when it goes): answers and events go there. */
  attach(frame: Window | null): void {
    this.#frame = frame;
  }

  /** One message that the open app's frame posted (the panel checked where it came from). */
  receive(data: unknown): void {
    void this.#bridge?.handle(data);
  }

  /** Closes the open app, and leaves its channel if it was opened. */
  close(): void {
    const open = this.current;
    this.#bridge?.dispose();
    this.#bridge = null;
    this.current = null;
    this.expanded = false;
    if (open && this.#channelOpen) this.#deps.api.close(open.app.id).catch(() => undefined);
    this.#channelOpen = false;
  }

  setExpanded(on: boolean): void {
    if (!this.current || this.expanded === on) return;
    this.expanded = on;
    this.#bridge?.expandChanged(on);
  }

  /** Invites everyone else in the session to open the open app. */
  async inviteAll(): Promise<void> {
    const open = this.current;
    if (!open) return;
    this.error = null;
    try {
      await this.#deps.api.invite(open.app.id, null);
      this.#deps.say([`Everyone was invited to open ${open.app.name}.`]);
    } catch (err) {
      this.error = failureMessage(err);
    }
  }

  /** Opens the app of an invitation, if Huddle has it. */
  accept(inv: Invitation): boolean {
    this.dismiss(inv);
    const app = this.apps.find((a) => a.id === inv.app);
    if (!app || app.problem !== null) return false;
    this.open(app);
    return true;
  }

  dismiss(inv: Invitation): void {
    this.invitations = this.invitations.filter((i) => !(i.app === inv.app && i.from === inv.from));
  }

  /** An app event of the call's channel. */
  handle(e: AppCallEvent): void {
    const open = this.current?.app.id ?? null;
    switch (e.type) {
      case "app_opened":
        if (e.app === open) this.#bridge?.appOpened(e.state, e.recent);
        break;
      case "app_message":
        if (e.message.app === open) this.#bridge?.appMessage(e.message);
        break;
      case "app_invitation":
        if (e.from === this.#deps.snapshot()?.me) break;
        this.invitations = withInvitation(this.invitations, { app: e.app, from: e.from, fromName: e.fromName }, open);
        // An invitation to an app not listed yet may be for one installed since.
        if (!this.apps.some((a) => a.id === e.app) && !this.loading) void this.load();
        break;
    }
  }

  /** A new snapshot of the call: the open app hears who joined, left, speaks, and my media. */
  observe(s: CallSnapshot): void {
    const bridge = this.#bridge;
    if (!bridge) return;
    const roster = rosterOf(s.members);
    const changes = participantChanges(this.#roster, roster);
    this.#roster = roster;
    if (changes.length > 0) bridge.participantsChanged(changes);
    const speakers = activeSpeakers(s.members);
    if (!sameIds(speakers, this.#speakers)) {
      this.#speakers = speakers;
      bridge.activeSpeakersChanged(speakers);
    }
    const media = myMedia(s);
    if (!this.#media || !sameMedia(media, this.#media)) {
      this.#media = media;
      bridge.myMediaChanged(media);
    }
  }

  /** The call ended: no app, no invitations. The list stays; it is Huddle's, not the call's. */
  reset(): void {
    this.#bridge?.dispose();
    this.#bridge = null;
    this.#frame = null;
    this.#channelOpen = false;
    this.current = null;
    this.expanded = false;
    this.invitations = [];
    this.error = null;
  }
}
