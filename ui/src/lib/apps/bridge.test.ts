import { afterEach, describe, expect, it, vi } from "vitest";
import {
  AppBridge,
  CONNECT_TIMEOUT_MS,
  MAX_MESSAGE_BYTES,
  MAX_STATE_BYTES,
  SDK_CALLS,
  SDK_EVENTS,
  SEND_BURST,
  type AppHost,
  type BridgeSnapshot,
  type FrameAnswer,
  type FrameEvent,
  type ToFrame,
} from "./bridge";
import type { AppEntry } from "./types";
import type { RoleView } from "../generated/call";

const everything = [...SDK_CALLS, ...SDK_EVENTS];

function entry(capabilities: string[] = everything): AppEntry {
  return {
    id: "whiteboard",
    name: "Whiteboard",
    description: "Draw together",
    entry: "huddleapp://localhost/whiteboard/index.html",
    icon: null,
    capabilities,
    builtIn: true,
    problem: null,
  };
}

function snapshot(role: RoleView): BridgeSnapshot {
  return {
    clientVersion: "1.2.3",
    sessionName: "Weekly",
    meetingId: "Weekly",
    me: { id: 1, name: "Ann", role },
    audienceCount: 40,
    members: [
      { id: 1, name: "Ann", role, audioMuted: true, videoOn: false, handRaised: false },
      { id: 2, name: "Bob", role: "host", audioMuted: false, videoOn: true, handRaised: true },
      { id: 3, name: "Cy", role: "participant", audioMuted: false, videoOn: false, handRaised: false },
    ],
    media: { audioMuted: true, videoOn: false, sharing: false },
  };
}

/** A bridge with a host that records what it is asked, and the frame's side of the talk. */
function setup(opts: { capabilities?: string[]; role?: RoleView } = {}) {
  const posted: ToFrame[] = [];
  const done = {
    open: 0,
    messages: [] as unknown[],
    states: [] as unknown[],
    invites: [] as (number[] | null)[],
    notes: [] as [string, string, string][],
    expands: [] as boolean[],
    closes: 0,
    closedAfter: null as number | null,
  };
  let refuse: unknown = null;
  const clock = { now: 0 };
  const refused = () => (refuse ? Promise.reject(refuse) : Promise.resolve());
  let snap = snapshot(opts.role ?? "participant");
  const host: AppHost = {
    snapshot: () => snap,
    open: () => {
      done.open += 1;
      return refused();
    },
    message: (d) => {
      done.messages.push(d);
      return refused();
    },
    setState: (s) => {
      done.states.push(s);
      return refused();
    },
    invite: (to) => {
      done.invites.push(to);
      return refused();
    },
    notify: (type, title, message) => done.notes.push([type, title, message]),
    expand: (on) => done.expands.push(on),
    close: () => {
      done.closes += 1;
      // What the frame was told before it went away.
      done.closedAfter = posted.length;
    },
    now: () => clock.now,
  };
  const bridge = new AppBridge(entry(opts.capabilities), (m) => posted.push(m), host);
  let nextId = 1;
  const answers = () => posted.filter((m): m is FrameAnswer => "id" in m);
  const events = () => posted.filter((m): m is FrameEvent => "event" in m);
  /** Sends a request and gives its answer once handled. */
  async function call(method: string, params?: unknown): Promise<FrameAnswer> {
    const id = nextId++;
    await bridge.handle({ huddleApps: 1, id, method, params });
    const a = answers().find((m) => m.id === id);
    if (!a) throw new Error(`no answer to ${method}`);
    return a;
  }
  /** Sends a request without waiting (for `connect`); `answer()` finds its answer later. */
  function send(method: string, params?: unknown) {
    const id = nextId++;
    const handled = bridge.handle({ huddleApps: 1, id, method, params });
    return { handled, answer: () => answers().find((m) => m.id === id) };
  }
  async function configure(capabilities: string[] = everything) {
    return call("config", { capabilities });
  }
  async function connect() {
    const c = send("connect");
    await Promise.resolve();
    bridge.appOpened(null, []);
    await c.handled;
    return c.answer()!;
  }
  const code = (a: FrameAnswer) => a.error?.code ?? "ok";
  return {
    bridge,
    posted,
    done,
    clock,
    call,
    send,
    configure,
    connect,
    answers,
    events,
    code,
    refuseWith: (err: unknown) => (refuse = err),
    setSnapshot: (s: BridgeSnapshot) => (snap = s),
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the bridge's request checks", () => {
  it("answers malformed requests with invalid_request, echoing a numeric id", async () => {
    const t = setup();
    const bad: unknown[] = [
      null,
      "config",
      42,
      [1, 2],
      { id: 1, method: "config" },
      { huddleApps: 2, id: 2, method: "config" },
      { huddleApps: 1, id: "3", method: "config" },
      { huddleApps: 1, id: Number.NaN, method: "config" },
      { huddleApps: 1, id: 4, method: 7 },
      { huddleApps: 1, method: "config" },
    ];
    for (const data of bad) await t.bridge.handle(data);
    const answers = t.answers();
    expect(answers).toHaveLength(bad.length);
    expect(answers.every((a) => a.error?.code === "invalid_request")).toBe(true);
    expect(answers.map((a) => a.id)).toEqual([null, null, null, null, 1, 2, null, null, 4, null]);
  });

  it("answers unknown_api for names that are not SDK calls, even before config", async () => {
    const t = setup();
    for (const name of ["fooBar", "onMessage", "__proto__", "constructor", "toString", ""]) {
      expect(t.code(await t.call(name))).toBe("unknown_api");
    }
  });

  it("refuses every call but config before config: not_configured", async () => {
    const t = setup();
    expect(t.code(await t.call("getUserContext"))).toBe("not_configured");
    expect(t.code(await t.call("postMessage", { payload: 1 }))).toBe("not_configured");
    // A config that failed does not count.
    expect(t.code(await t.call("config", { capabilities: "all" }))).toBe("invalid_params");
    expect(t.code(await t.call("getUserContext"))).toBe("not_configured");
  });

  it("grants what was asked, the manifest lists and the SDK knows; the rest is unsupported", async () => {
    const t = setup({ capabilities: ["getUserContext", "connect", "postMessage", "onMessage", "madeUp"] });
    const a = await t.configure(["getUserContext", "onMessage", "getMeetingContext", "onConnect", "madeUp", "teleport", "onMessage"]);
    expect(a.result).toEqual({
      runningContext: "inMeeting",
      clientVersion: "1.2.3",
      capabilities: ["getUserContext", "onMessage"],
      unsupportedApis: ["getMeetingContext", "onConnect", "madeUp", "teleport"],
    });
  });

  it("refuses a call not given to config (not_declared) apart from one the manifest lacks (not_permitted)", async () => {
    const t = setup({ capabilities: ["getUserContext", "getMeetingContext"] });
    await t.configure(["getUserContext", "getMeetingParticipants"]);
    expect(t.code(await t.call("getUserContext"))).toBe("ok");
    expect(t.code(await t.call("getMeetingContext"))).toBe("not_declared");
    expect(t.code(await t.call("getMeetingParticipants"))).toBe("not_permitted");
    // Even getSupportedJsApis must be declared.
    expect(t.code(await t.call("getSupportedJsApis"))).toBe("not_declared");
  });

  it("replaces the grant at a second config", async () => {
    const t = setup();
    await t.configure(["getUserContext", "onMessage"]);
    expect(t.code(await t.call("getUserContext"))).toBe("ok");
    const again = await t.configure(["getMeetingContext"]);
    expect((again.result as { capabilities: string[] }).capabilities).toEqual(["getMeetingContext"]);
    expect(t.code(await t.call("getUserContext"))).toBe("not_declared");
    expect(t.code(await t.call("getMeetingContext"))).toBe("ok");
    t.bridge.appMessage({ app: "whiteboard", seq: 1, from: 2, data: "hi" });
    expect(t.events()).toEqual([]);
  });

  it("keeps the audience from sending: not_permitted, before the parameters are looked at", async () => {
    const t = setup({ role: "audience" });
    await t.configure();
    await t.connect();
    for (const [method, params] of [
      ["postMessage", { payload: 1 }],
      ["postMessage", {}],
      ["setSharedState", { state: {} }],
      ["sendAppInvitation", { participantIds: [2] }],
      ["sendAppInvitationToAllParticipants", undefined],
    ] as const) {
      expect(t.code(await t.call(method, params))).toBe("not_permitted");
    }
    expect(t.done.messages).toEqual([]);
    expect(t.done.invites).toEqual([]);
    // Receiving, reading and the view's own calls are theirs too.
    expect(t.code(await t.call("getMeetingParticipants"))).toBe("ok");
    expect(t.code(await t.call("showNotification", { type: "info", title: "t", message: "m" }))).toBe("ok");
    expect(t.code(await t.call("expandApp", { action: "expand" }))).toBe("ok");
  });

  it("checks the role at each call, so a promotion or demotion counts at once", async () => {
    const t = setup();
    await t.configure();
    await t.connect();
    expect(t.code(await t.call("postMessage", { payload: 1 }))).toBe("ok");
    t.setSnapshot(snapshot("audience"));
    expect(t.code(await t.call("postMessage", { payload: 2 }))).toBe("not_permitted");
  });

  it("checks the parameters' shape: invalid_params", async () => {
    const t = setup();
    await t.configure();
    await t.connect();
    const bad: [string, unknown][] = [
      ["getUserContext", 5],
      ["getUserContext", [1]],
      ["getUserContext", null],
      ["postMessage", {}],
      ["postMessage", { payload: 10n }],
      ["setSharedState", { other: 1 }],
      ["sendAppInvitation", { participantIds: [] }],
      ["sendAppInvitation", { participantIds: [1.5] }],
      ["sendAppInvitation", { participantIds: ["2"] }],
      ["sendAppInvitation", {}],
      ["showNotification", { type: "shout", title: "t", message: "m" }],
      ["showNotification", { type: "info", message: "m" }],
      ["expandApp", { action: "maximise" }],
      ["config", { capabilities: [1] }],
    ];
    for (const [method, params] of bad) expect([method, t.code(await t.call(method, params))]).toEqual([method, "invalid_params"]);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(t.code(await t.call("postMessage", { payload: cyclic }))).toBe("invalid_params");
    // No parameters at all are empty ones.
    expect(t.code(await t.call("getUserContext"))).toBe("ok");
    expect(t.done.messages).toEqual([]);
  });

  it("refuses sending before connect (not_connected), after checking the parameters", async () => {
    const t = setup();
    await t.configure();
    expect(t.code(await t.call("postMessage", {}))).toBe("invalid_params");
    expect(t.code(await t.call("postMessage", { payload: "x".repeat(MAX_MESSAGE_BYTES) }))).toBe("not_connected");
    expect(t.code(await t.call("setSharedState", { state: 1 }))).toBe("not_connected");
    // Invitations need no channel.
    expect(t.code(await t.call("sendAppInvitation", { participantIds: [2] }))).toBe("ok");
  });

  it("measures messages and states in UTF-8 bytes of their JSON: too_large", async () => {
    const t = setup();
    await t.configure();
    await t.connect();
    // A string's JSON adds its two quotes.
    expect(t.code(await t.call("postMessage", { payload: "a".repeat(MAX_MESSAGE_BYTES - 2) }))).toBe("ok");
    expect(t.code(await t.call("postMessage", { payload: "a".repeat(MAX_MESSAGE_BYTES - 1) }))).toBe("too_large");
    // "€" is one character, three bytes: 5461 of them are far fewer characters than the limit.
    expect(t.code(await t.call("postMessage", { payload: "€".repeat(5460) }))).toBe("ok");
    const big = await t.call("postMessage", { payload: "€".repeat(5461) });
    expect(t.code(big)).toBe("too_large");
    expect(big.error?.message).toContain("16385");
    expect(t.code(await t.call("setSharedState", { state: "a".repeat(MAX_STATE_BYTES - 2) }))).toBe("ok");
    expect(t.code(await t.call("setSharedState", { state: "a".repeat(MAX_STATE_BYTES - 1) }))).toBe("too_large");
    expect(t.done.messages).toHaveLength(2);
    expect(t.done.states).toHaveLength(1);
  });

  it("limits channel sends to bursts of 60, then 30 a second: rate_limited", async () => {
    const t = setup();
    await t.configure();
    await t.connect();
    for (let i = 0; i < SEND_BURST; i++) {
      const method = i % 3 === 0 ? "postMessage" : i % 3 === 1 ? "setSharedState" : "sendAppInvitation";
      const params = method === "postMessage" ? { payload: i } : method === "setSharedState" ? { state: i } : { participantIds: [2] };
      expect(t.code(await t.call(method, params))).toBe("ok");
    }
    expect(t.code(await t.call("postMessage", { payload: "more" }))).toBe("rate_limited");
    expect(t.code(await t.call("sendAppInvitationToAllParticipants"))).toBe("rate_limited");
    // Other calls are not channel sends.
    expect(t.code(await t.call("getUserContext"))).toBe("ok");
    expect(t.code(await t.call("showNotification", { type: "info", title: "", message: "m" }))).toBe("ok");
    // 100 ms buys three sends.
    t.clock.now = 100;
    for (let i = 0; i < 3; i++) expect(t.code(await t.call("postMessage", { payload: i }))).toBe("ok");
    expect(t.code(await t.call("postMessage", { payload: 4 }))).toBe("rate_limited");
    // Sustained at just under 30 a second, every send goes through.
    for (let i = 1; i <= 90; i++) {
      t.clock.now = 100 + i * 34;
      expect(t.code(await t.call("postMessage", { payload: i }))).toBe("ok");
    }
    // A long quiet refills the burst, and no more.
    t.clock.now += 60_000;
    for (let i = 0; i < SEND_BURST; i++) expect(t.code(await t.call("postMessage", { payload: i }))).toBe("ok");
    expect(t.code(await t.call("postMessage", { payload: "over" }))).toBe("rate_limited");
  });

  it("counts only sends that pass the other checks, and checks size before the rate", async () => {
    const t = setup();
    await t.configure();
    await t.connect();
    for (let i = 0; i < 100; i++) await t.call("postMessage", { payload: "a".repeat(MAX_MESSAGE_BYTES) });
    for (let i = 0; i < SEND_BURST; i++) expect(t.code(await t.call("postMessage", { payload: i }))).toBe("ok");
    expect(t.code(await t.call("postMessage", { payload: "a".repeat(MAX_MESSAGE_BYTES) }))).toBe("too_large");
    expect(t.code(await t.call("postMessage", { payload: 1 }))).toBe("rate_limited");
  });

  it("reports the session's refusal as failed, in its words", async () => {
    const t = setup();
    await t.configure();
    await t.connect();
    t.refuseWith({ kind: "refused", message: "The app's channel is full.", detail: "app_message: too_many" });
    const a = await t.call("postMessage", { payload: 1 });
    expect(a.error).toEqual({ code: "failed", message: "The app's channel is full." });
    expect((await t.call("sendAppInvitationToAllParticipants")).error?.code).toBe("failed");
  });

  it("keeps the session's rate limit as rate_limited, so the app can back off", async () => {
    const t = setup();
    await t.configure();
    await t.connect();
    t.refuseWith({ kind: "rate_limited", message: "That was too many requests at once.", detail: null });
    expect((await t.call("postMessage", { payload: 1 })).error).toEqual({
      code: "rate_limited",
      message: "That was too many requests at once.",
    });
  });

  it("never throws out of handle, whatever comes in or goes wrong", async () => {
    const t = setup();
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error("boom");
        },
      },
    );
    await expect(t.bridge.handle(hostile)).resolves.toBeUndefined();
    await expect(t.bridge.handle(undefined)).resolves.toBeUndefined();
    await t.configure();
    t.setSnapshot(undefined as unknown as BridgeSnapshot);
    const a = await t.call("getUserContext");
    expect(a.error?.code).toBe("failed");
    const broken = new AppBridge(entry(), () => {
      throw new Error("frame gone");
    }, {} as AppHost);
    await expect(broken.handle({ huddleApps: 1, id: 1, method: "config", params: { capabilities: [] } })).resolves.toBeUndefined();
  });
});

describe("the bridge's calls", () => {
  it("answers the meeting's context, mine and the participants", async () => {
    const t = setup();
    await t.configure();
    expect((await t.call("getMeetingContext")).result).toEqual({
      sessionName: "Weekly",
      meetingId: "Weekly",
      role: "participant",
      audienceCount: 40,
    });
    expect((await t.call("getUserContext")).result).toEqual({
      participantId: 1,
      displayName: "Ann",
      role: "participant",
      audioMuted: true,
      videoOn: false,
    });
    const people = (await t.call("getMeetingParticipants")).result as { participants: unknown[] };
    expect(people.participants).toHaveLength(3);
    expect(people.participants[1]).toEqual({
      participantId: 2,
      displayName: "Bob",
      role: "host",
      audioMuted: false,
      videoOn: true,
      handRaised: true,
    });
    expect((await t.call("getSupportedJsApis")).result).toEqual({ apis: everything });
  });

  it("connects when the session answers app_opened: the answer and onConnect carry state and recent", async () => {
    const t = setup();
    await t.configure();
    const first = t.send("connect");
    const second = t.send("connect");
    await Promise.resolve();
    // Two connects waiting open the channel once.
    expect(t.done.open).toBe(1);
    expect(first.answer()).toBeUndefined();
    expect(t.bridge.opened).toBe(true);
    expect(t.bridge.connected).toBe(false);
    t.bridge.appOpened({ strokes: 3 }, [
      { app: "whiteboard", seq: 7, from: 2, data: { a: 1 } },
      { app: "whiteboard", seq: 8, from: 1, data: "mine" },
    ]);
    await Promise.all([first.handled, second.handled]);
    const expected = {
      state: { strokes: 3 },
      recent: [
        { seq: 7, from: 2, fromMe: false, payload: { a: 1 } },
        { seq: 8, from: 1, fromMe: true, payload: "mine" },
      ],
    };
    expect(first.answer()?.result).toEqual(expected);
    expect(second.answer()?.result).toEqual(expected);
    expect(t.events()).toEqual([{ huddleApps: 1, event: "onConnect", payload: expected }]);
    expect(t.bridge.connected).toBe(true);
  });

  it("gives up on a connect the session never answers after 10 s, and takes a late answer", async () => {
    vi.useFakeTimers();
    const t = setup();
    await t.configure();
    const c = t.send("connect");
    await vi.advanceTimersByTimeAsync(CONNECT_TIMEOUT_MS - 1);
    expect(c.answer()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await c.handled;
    expect(c.answer()?.error?.code).toBe("failed");
    t.bridge.appOpened(null, []);
    expect(t.bridge.connected).toBe(true);
    expect(t.events().map((e) => e.event)).toEqual(["onConnect"]);
  });

  it("fails a connect the session refuses, with its message", async () => {
    const t = setup();
    await t.configure();
    t.refuseWith({ kind: "refused", message: "Eight apps are open already.", detail: null });
    const c = t.send("connect");
    await c.handled;
    expect(c.answer()?.error).toEqual({ code: "failed", message: "Eight apps are open already." });
    expect(t.bridge.connected).toBe(false);
  });

  it("relays messages and states as JSON to the session", async () => {
    const t = setup();
    await t.configure();
    await t.connect();
    expect((await t.call("postMessage", { payload: { at: new Date(0), n: 1, skip: undefined } })).result).toEqual({});
    expect(t.done.messages).toEqual([{ at: "1970-01-01T00:00:00.000Z", n: 1 }]);
    expect((await t.call("setSharedState", { state: null })).result).toEqual({});
    expect(t.done.states).toEqual([null]);
  });

  it("invites some members (me left out, each once) or everyone", async () => {
    const t = setup();
    await t.configure();
    expect((await t.call("sendAppInvitation", { participantIds: [2, 3, 2, 1] })).result).toEqual({ invited: 2 });
    expect((await t.call("sendAppInvitation", { participantIds: [1] })).result).toEqual({ invited: 0 });
    expect((await t.call("sendAppInvitationToAllParticipants")).result).toEqual({ invited: 42 });
    expect(t.done.invites).toEqual([[2, 3], null]);
  });

  it("notifies, expands and closes through the host; the close comes after its answer", async () => {
    const t = setup();
    await t.configure();
    expect((await t.call("showNotification", { type: "warning", title: "Poll", message: "Ends in 1 min" })).result).toEqual({});
    expect(t.done.notes).toEqual([["warning", "Poll", "Ends in 1 min"]]);
    expect((await t.call("expandApp", { action: "expand" })).result).toEqual({ expanded: true });
    expect((await t.call("expandApp", { action: "collapse" })).result).toEqual({ expanded: false });
    expect(t.done.expands).toEqual([true, false]);
    const before = t.posted.length;
    expect((await t.call("closeApp")).result).toEqual({});
    expect(t.done.closes).toBe(1);
    expect(t.done.closedAfter).toBe(before + 1);
  });
});

describe("the bridge's events", () => {
  it("sends nothing before config, and only the events granted after", async () => {
    const t = setup({ capabilities: ["onMessage", "onParticipantChange", "onMyMediaChange"] });
    t.bridge.appMessage({ app: "whiteboard", seq: 1, from: 2, data: 1 });
    expect(t.events()).toEqual([]);
    await t.configure(["onMessage", "onParticipantChange", "onActiveSpeakerChange", "onExpandApp"]);
    t.bridge.appMessage({ app: "whiteboard", seq: 2, from: 1, data: { x: 1 } });
    t.bridge.participantsChanged([{ status: "joined", participantId: 4, displayName: "Dee", role: "participant" }]);
    t.bridge.participantsChanged([]);
    t.bridge.activeSpeakersChanged([2]);
    t.bridge.myMediaChanged({ audioMuted: false, videoOn: true, sharing: false });
    t.bridge.expandChanged(true);
    expect(t.events()).toEqual([
      { huddleApps: 1, event: "onMessage", payload: { seq: 2, from: 1, fromMe: true, payload: { x: 1 } } },
      {
        huddleApps: 1,
        event: "onParticipantChange",
        payload: { participants: [{ status: "joined", participantId: 4, displayName: "Dee", role: "participant" }] },
      },
    ]);
  });

  it("sends the speaker, media and expand events when granted", async () => {
    const t = setup();
    await t.configure(["onActiveSpeakerChange", "onMyMediaChange", "onExpandApp"]);
    t.bridge.activeSpeakersChanged([2, 3]);
    t.bridge.myMediaChanged({ audioMuted: false, videoOn: true, sharing: true });
    t.bridge.expandChanged(false);
    expect(t.events().map((e) => [e.event, e.payload])).toEqual([
      ["onActiveSpeakerChange", { participantIds: [2, 3] }],
      ["onMyMediaChange", { audioMuted: false, videoOn: true, sharing: true }],
      ["onExpandApp", { expanded: false }],
    ]);
  });

  it("goes quiet once disposed, a waiting connect included", async () => {
    const t = setup();
    await t.configure();
    const c = t.send("connect");
    const count = t.posted.length;
    t.bridge.dispose();
    await c.handled;
    t.bridge.appOpened(null, []);
    t.bridge.appMessage({ app: "whiteboard", seq: 1, from: 2, data: 1 });
    await t.bridge.handle({ huddleApps: 1, id: 99, method: "getUserContext" });
    expect(t.posted.length).toBe(count);
  });
});
