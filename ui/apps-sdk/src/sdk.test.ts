import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HuddleAppsError } from "./errors";
import { CALL_TIMEOUT_MS, createSdk } from "./sdk";
import { windowTransport, type BridgeWindow } from "./transport";
import type { BridgeRequest, HuddleApps } from "./types";

/** A frame and its parent on a fake message bus: what the frame posts, and a way to answer. */
function fakeFrame() {
  type Listener = (event: { source: unknown; data: unknown }) => void;
  const listeners: Listener[] = [];
  const sent: BridgeRequest[] = [];
  const parent = {
    postMessage(message: unknown, targetOrigin: string) {
      expect(targetOrigin).toBe("*");
      // The real bridge clones what is posted: so does the fake, to catch shared objects.
      sent.push(structuredClone(message) as BridgeRequest);
    },
  };
  const win: BridgeWindow = {
    parent,
    addEventListener(type, listener) {
      expect(type).toBe("message");
      listeners.push(listener);
    },
  };
  const deliver = (data: unknown, source: unknown = parent) => {
    for (const listener of listeners) listener({ source, data });
  };
  return { win, sent, deliver, sdk: createSdk(windowTransport(win)) };
}

let frame: ReturnType<typeof fakeFrame>;
let sdk: HuddleApps;

beforeEach(() => {
  vi.useFakeTimers();
  frame = fakeFrame();
  sdk = frame.sdk;
});

afterEach(() => {
  vi.useRealTimers();
});

describe("calls", () => {
  it("posts a request to the parent with a fresh id and the call's parameters", () => {
    void sdk.config({ capabilities: ["getUserContext", "onMessage"] });
    void sdk.getUserContext();
    void sdk.postMessage({ t: "hi" });
    void sdk.setSharedState([1, 2]);
    void sdk.expandApp({ action: "collapse" });
    expect(frame.sent).toEqual([
      { huddleApps: 1, id: 1, method: "config", params: { capabilities: ["getUserContext", "onMessage"] } },
      { huddleApps: 1, id: 2, method: "getUserContext", params: {} },
      { huddleApps: 1, id: 3, method: "postMessage", params: { payload: { t: "hi" } } },
      { huddleApps: 1, id: 4, method: "setSharedState", params: { state: [1, 2] } },
      { huddleApps: 1, id: 5, method: "expandApp", params: { action: "collapse" } },
    ]);
  });

  it("resolves each call with the result of the answer carrying its id", async () => {
    const user = sdk.getUserContext();
    const ctx = sdk.getMeetingContext();
    frame.deliver({ huddleApps: 1, id: 2, result: { sessionName: "Weekly", meetingId: "m1", role: "host", audienceCount: 0 } });
    frame.deliver({ huddleApps: 1, id: 1, result: { participantId: 4, displayName: "Ann", role: "host", audioMuted: false, videoOn: true } });
    expect((await user).displayName).toBe("Ann");
    expect((await ctx).sessionName).toBe("Weekly");
  });

  it("rejects with a HuddleAppsError holding the error's code and message", async () => {
    const sent = sdk.postMessage({ big: true });
    frame.deliver({ huddleApps: 1, id: 1, error: { code: "too_large", message: "over 16 KiB" } });
    const err = await sent.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HuddleAppsError);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: "too_large", message: "over 16 KiB", name: "HuddleAppsError" });
  });

  it("turns an error code it does not know into failed, keeping the code", async () => {
    const sent = sdk.closeApp();
    frame.deliver({ huddleApps: 1, id: 1, error: { code: "gone_fishing", message: "later" } });
    await expect(sent).rejects.toMatchObject({ code: "failed", message: "gone_fishing: later" });
  });

  it("rejects with timeout when no answer comes within 10 s, and ignores a late answer", async () => {
    const connect = sdk.connect();
    const outcome = connect.catch((e: unknown) => e);
    vi.advanceTimersByTime(CALL_TIMEOUT_MS - 1);
    frame.deliver({ huddleApps: 1, id: 99, result: {} });
    vi.advanceTimersByTime(1);
    expect(await outcome).toMatchObject({ code: "timeout" });
    frame.deliver({ huddleApps: 1, id: 1, result: { state: null, recent: [] } });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("stops the timer once answered", async () => {
    const call = sdk.expandApp({ action: "expand" });
    frame.deliver({ huddleApps: 1, id: 1, result: { expanded: true } });
    await expect(call).resolves.toEqual({ expanded: true });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("refuses at once what cannot be posted", async () => {
    await expect(sdk.postMessage({ f: () => 1 })).rejects.toMatchObject({ code: "invalid_params" });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("does not take its own request for an answer", async () => {
    const call = sdk.getSupportedJsApis();
    const outcome = call.catch((e: unknown) => e);
    frame.deliver(frame.sent[0]);
    vi.advanceTimersByTime(CALL_TIMEOUT_MS);
    expect(await outcome).toMatchObject({ code: "timeout" });
  });
});

describe("what is ignored", () => {
  it("ignores answers from any window but the parent", async () => {
    const call = sdk.getUserContext();
    const outcome = call.catch((e: unknown) => e);
    frame.deliver({ huddleApps: 1, id: 1, result: { displayName: "Mallory" } }, {});
    frame.deliver({ huddleApps: 1, id: 1, result: { displayName: "Mallory" } }, null);
    vi.advanceTimersByTime(CALL_TIMEOUT_MS);
    expect(await outcome).toMatchObject({ code: "timeout" });
  });

  it("ignores events from any window but the parent", () => {
    const handler = vi.fn();
    sdk.onMessage(handler);
    frame.deliver({ huddleApps: 1, event: "onMessage", payload: {} }, frame.win);
    expect(handler).not.toHaveBeenCalled();
  });

  it("ignores messages without huddleApps: 1", () => {
    const handler = vi.fn();
    sdk.onMessage(handler);
    const call = sdk.getUserContext();
    frame.deliver({ event: "onMessage", payload: {} });
    frame.deliver({ huddleApps: 2, event: "onMessage", payload: {} });
    frame.deliver({ huddleApps: "1", id: 1, result: {} });
    frame.deliver("huddleApps");
    frame.deliver(null);
    expect(handler).not.toHaveBeenCalled();
    frame.deliver({ huddleApps: 1, id: 1, result: { displayName: "Ann" } });
    return expect(call).resolves.toEqual({ displayName: "Ann" });
  });
});

describe("events", () => {
  const message = { seq: 3, from: 2, fromMe: false, payload: { t: "clear" } };

  it("go to the handlers of their event only", () => {
    const onMessage = vi.fn();
    const viaOn = vi.fn();
    const onExpand = vi.fn();
    sdk.onMessage(onMessage);
    sdk.on("onMessage", viaOn);
    sdk.onExpandApp(onExpand);
    frame.deliver({ huddleApps: 1, event: "onMessage", payload: message });
    expect(onMessage).toHaveBeenCalledWith(message);
    expect(viaOn).toHaveBeenCalledWith(message);
    expect(onExpand).not.toHaveBeenCalled();
    frame.deliver({ huddleApps: 1, event: "onExpandApp", payload: { expanded: true } });
    expect(onExpand).toHaveBeenCalledWith({ expanded: true });
    expect(onMessage).toHaveBeenCalledTimes(1);
  });

  it("each helper listens to its own event", () => {
    const seen: string[] = [];
    sdk.onParticipantChange(() => seen.push("participants"));
    sdk.onActiveSpeakerChange(() => seen.push("speaker"));
    sdk.onMyMediaChange(() => seen.push("media"));
    sdk.onConnect(() => seen.push("connect"));
    for (const event of ["onConnect", "onMyMediaChange", "onActiveSpeakerChange", "onParticipantChange"]) {
      frame.deliver({ huddleApps: 1, event, payload: {} });
    }
    expect(seen).toEqual(["connect", "media", "speaker", "participants"]);
  });

  it("stop after unsubscribing, leaving the other handlers", () => {
    const first = vi.fn();
    const second = vi.fn();
    const off = sdk.onMessage(first);
    sdk.onMessage(second);
    off();
    off();
    frame.deliver({ huddleApps: 1, event: "onMessage", payload: message });
    expect(first).not.toHaveBeenCalled();
    expect(second).toHaveBeenCalledTimes(1);
  });

  it("count the same function added twice as two handlers", () => {
    const handler = vi.fn();
    const off = sdk.onMessage(handler);
    sdk.onMessage(handler);
    off();
    frame.deliver({ huddleApps: 1, event: "onMessage", payload: message });
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it("reach the other handlers when one throws, and report the error", () => {
    const after = vi.fn();
    sdk.onMessage(() => {
      throw new Error("broken handler");
    });
    sdk.onMessage(after);
    frame.deliver({ huddleApps: 1, event: "onMessage", payload: message });
    expect(after).toHaveBeenCalledTimes(1);
    expect(() => vi.runAllTimers()).toThrow("broken handler");
  });

  it("refuses an unknown event name", () => {
    expect(() => sdk.on("onNothing" as "onMessage", () => {})).toThrow(HuddleAppsError);
  });

  it("ignores events nobody listens to", () => {
    expect(() => frame.deliver({ huddleApps: 1, event: "onSomethingNew", payload: {} })).not.toThrow();
  });
});
