// The call the window shows: joins through the app, folds the channel's events into the
// model (callModel.ts) and keeps it reactive for the components. The channel's app events go
// to the call's apps (apps/appsStore.svelte.ts), which also see every new snapshot.
import { Channel } from "@tauri-apps/api/core";
import { api } from "./api";
import { AppsStore } from "./apps/appsStore.svelte";
import { isAppEvent, type AnyCallEvent } from "./apps/types";
import { callApi } from "./callApi";
import { applyEvent, dismiss, expire, initialModel, say, type CallModel } from "./callModel";
import { memberVolumes } from "./memberVolumes.svelte";
import type { Part } from "./named";
import type { EndView, JoinRequest } from "./generated/call";

export interface LocalMedia {
  cameraId: string | null;
  microphoneId: string | null;
  speakerId: string | null;
  mirror: boolean;
}

export class CallStore {
  model: CallModel | null = $state(null);
  media: LocalMedia = $state({ cameraId: null, microphoneId: null, speakerId: null, mirror: true });
  /** Set when I ended the session for everyone, so the closing screen says so. */
  endedByMe = $state(false);
  /** The session whose lobby the join under way waits in, if it does. */
  waitingIn: string | null = $state(null);
  /** The in-meeting apps of this call. */
  readonly apps = new AppsStore({
    snapshot: () => (this.model && !this.model.ended ? this.model.state : null),
    say: (parts) => this.say(parts),
    version: () => api.appInfo().then((info) => info.version),
  });

  async join(request: JoinRequest, media: LocalMedia): Promise<void> {
    // Events may arrive before the join's answer; they are held and applied after it.
    const early: AnyCallEvent[] = [];
    let joined = false;
    const channel = new Channel<AnyCallEvent>();
    channel.onmessage = (event) => {
      if (event.type === "waiting") this.waitingIn = event.sessionName;
      else if (!joined) early.push(event);
      else this.#apply(event);
    };
    let result;
    try {
      result = await callApi.join(request, channel);
    } finally {
      this.waitingIn = null;
    }
    // Apps and invitations of an earlier call are not this one's.
    this.apps.reset();
    this.model = initialModel(result);
    for (const e of early) this.#apply(e);
    joined = true;
    // Volumes set for the members of an earlier call are not this one's.
    memberVolumes.clear();
    this.media = media;
    this.endedByMe = false;
    void this.apps.load();
  }

  /** One event of the call's channel, to the model or to the apps. */
  #apply(event: AnyCallEvent): void {
    if (!this.model || this.model.ended) return;
    if (isAppEvent(event)) {
      this.apps.handle(event);
      return;
    }
    this.model = applyEvent(this.model, event, Date.now());
    if (this.model.ended) this.apps.reset();
    else if (event.type === "state") this.apps.observe(this.model.state);
  }

  /** Shows a note of the app's own in the call (text with names in it, or plain). */
  say(text: string | Part[]): void {
    if (this.model) this.model = say(this.model, text, Date.now());
  }

  /** Copies the invite link to the clipboard (or shows it, where the clipboard refuses). */
  async copyInvite(): Promise<void> {
    const link = this.model?.inviteLink;
    if (!link) return;
    try {
      await navigator.clipboard.writeText(link);
      this.say("Invite link copied. Anyone with Huddle who opens it lands on this session's pre-join screen.");
    } catch {
      this.say(`Copy this invite link: ${link}`);
    }
  }

  /** Shows the closing screen with this reason unless the call already ended otherwise. */
  close(reason: EndView): void {
    if (this.model && !this.model.ended) this.#apply({ type: "closed", reason });
  }

  async leave(): Promise<void> {
    try {
      await callApi.leave();
    } finally {
      this.close({ kind: "left" });
    }
  }

  async endForAll(): Promise<void> {
    // Set before asking: the server's "session ended" can reach the window before the answer.
    this.endedByMe = true;
    try {
      await callApi.endForAll();
    } catch (e) {
      this.endedByMe = false;
      throw e;
    }
    this.close({ kind: "ended_by_host", by: null });
  }

  tick(now: number): void {
    if (this.model) this.model = expire(this.model, now);
  }

  dismiss(id: number): void {
    if (this.model) this.model = dismiss(this.model, id);
  }

  reset(): void {
    this.apps.reset();
    this.model = null;
    this.endedByMe = false;
  }
}
