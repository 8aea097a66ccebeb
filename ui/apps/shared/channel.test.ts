import { afterEach, describe, expect, it, vi } from "vitest";
import { createSdk } from "../../apps-sdk/src/sdk";
import type { AppMessage, BridgeRequest, EventName, Participant } from "../../apps-sdk/src/types";
import { connect, join, stateWriter } from "./channel";

function member(participantId: number, role: Participant["role"]): Participant {
  return { participantId, displayName: `M${participantId}`, role, audioMuted: false, videoOn: false, handRaised: false };
}

/** A call view that answers each call from `answers` on the next tick, and sends events. */
function fakeView(answers: Record<string, (params: unknown) => unknown>) {
  let receive: (data: unknown) => void = () => {};
  const requests: BridgeRequest[] = [];
  const sdk = createSdk({
    send(request) {
      requests.push(request);
      const answer = answers[request.method];
      queueMicrotask(() =>
        receive(
          answer
            ? { huddleApps: 1, id: request.id, result: answer(request.params) }
            : { huddleApps: 1, id: request.id, error: { code: "not_declared", message: request.method } },
        ),
      );
    },
    listen(r) {
      receive = r;
    },
  });
  const emit = (event: EventName, payload: unknown) => receive({ huddleApps: 1, event, payload });
  return { sdk, requests, emit };
}

const message = (seq: number): AppMessage => ({ seq, from: 2, fromMe: false, payload: { n: seq } });

describe("join", () => {
  const answers = {
    config: () => ({}),
    getUserContext: () => ({ participantId: 2, displayName: "Ann", role: "participant", audioMuted: false, videoOn: false }),
    getMeetingParticipants: () => ({ participants: [member(1, "host"), member(2, "participant")] }),
  };

  it("configures the app and learns who is who", async () => {
    const view = fakeView(answers);
    const me = await join(view.sdk, ["getUserContext", "onMessage"], () => {});
    expect(view.requests[0]).toMatchObject({ method: "config", params: { capabilities: ["getUserContext", "onMessage"] } });
    expect(me.me.displayName).toBe("Ann");
    expect(me.role).toBe("participant");
    expect(me.maySend).toBe(true);
    expect(me.isModerator).toBe(false);
    expect(me.roles.isModerator(1)).toBe(true);
    expect(me.roles.of(9)).toBeUndefined();
  });

  it("follows role changes, mine included, and keeps the role of who left", async () => {
    const view = fakeView(answers);
    const changed = vi.fn();
    const me = await join(view.sdk, [], changed);
    const change = (participantId: number, status: string, role: string) => ({ participantId, status, role, displayName: "" });
    view.emit("onParticipantChange", { participants: [change(2, "changed", "manager")] });
    expect(me.isModerator).toBe(true);
    expect(changed).toHaveBeenCalledTimes(1);
    view.emit("onParticipantChange", { participants: [change(2, "changed", "manager"), change(1, "left", "host")] });
    expect(changed).toHaveBeenCalledTimes(1);
    expect(me.roles.of(1)).toBe("host");
    view.emit("onParticipantChange", { participants: [change(7, "joined", "audience")] });
    expect(me.roles.of(7)).toBe("audience");
  });

  it("fails when config is refused", async () => {
    const view = fakeView({});
    await expect(join(view.sdk, ["connect"], () => {})).rejects.toMatchObject({ code: "not_declared" });
  });
});

describe("connect", () => {
  it("hands over the snapshot first, then messages that came meanwhile, then live ones", async () => {
    const seen: unknown[] = [];
    let emit: (event: EventName, payload: unknown) => void = () => {};
    const view = fakeView({
      connect: () => {
        // A live message that overtakes the answer on its way to the app.
        emit("onMessage", message(6));
        return { state: { v: 5 }, recent: [message(5)] };
      },
    });
    emit = view.emit;
    await connect(view.sdk, {
      connected: (state, recent) => seen.push(["connected", state, recent.map((m) => m.seq)]),
      message: (m) => seen.push(m.seq),
    });
    view.emit("onMessage", message(7));
    expect(seen).toEqual([["connected", { v: 5 }, [5]], 6, 7]);
  });

  it("catches up again on each later onConnect", async () => {
    const connected = vi.fn();
    const view = fakeView({ connect: () => ({ state: null, recent: [] }) });
    await connect(view.sdk, { connected, message: () => {} });
    view.emit("onConnect", { state: { v: 9 }, recent: [message(9)] });
    expect(connected).toHaveBeenLastCalledWith({ v: 9 }, [message(9)]);
    expect(connected).toHaveBeenCalledTimes(2);
  });
});

describe("stateWriter", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("writes the state as it is after the delay, once for a burst of changes", () => {
    vi.useFakeTimers();
    const view = fakeView({ setSharedState: () => ({}) });
    let value = 1;
    const save = stateWriter(view.sdk, () => ({ value }), 300);
    save();
    value = 2;
    save();
    vi.advanceTimersByTime(299);
    expect(view.requests).toEqual([]);
    value = 3;
    save();
    vi.advanceTimersByTime(1);
    expect(view.requests.map((r) => r.params)).toEqual([{ state: { value: 3 } }]);
    save();
    vi.advanceTimersByTime(300);
    expect(view.requests).toHaveLength(2);
  });

  it("lets a refused write go with a warning", async () => {
    vi.useFakeTimers();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const view = fakeView({});
    stateWriter(view.sdk, () => ({}), 10)();
    await vi.advanceTimersByTimeAsync(10);
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
