import { describe, expect, it } from "vitest";
import { grants, memberActions } from "./permissions";
import { member, session } from "./fixtures";

describe("grants follow SPEC §3", () => {
  it("gives the host everything", () => {
    const g = grants("host", session);
    expect(g).toMatchObject({ admin: true, manageRoles: true, transferHost: true, endSession: true });
  });
  it("gives managers host controls but not roles, transfer or end", () => {
    expect(grants("manager", session)).toMatchObject({ admin: true, manageRoles: false, transferHost: false, endSession: false });
  });
  it("gives participants no controls over others", () => {
    expect(grants("participant", session)).toMatchObject({ admin: false, publish: true, chat: true });
  });
  it("lets the audience chat only when allowed, and never publish", () => {
    expect(grants("audience", session)).toMatchObject({ publish: false, chat: false, shareScreen: false });
    expect(grants("audience", { ...session, audienceChat: true }).chat).toBe(true);
  });
  it("locks screen sharing to hosts and managers", () => {
    const locked = { ...session, shareLocked: true };
    expect(grants("participant", locked).shareScreen).toBe(false);
    expect(grants("manager", locked).shareScreen).toBe(true);
  });
});

describe("memberActions", () => {
  const host = member(1, "host", { isMe: true });
  const manager = member(2, "manager", { isMe: true });

  it("offers a participant nothing", () => {
    expect(memberActions(member(3, "participant", { isMe: true }), member(4, "participant"), session)).toEqual([]);
  });
  it("offers nothing on oneself", () => {
    expect(memberActions(host, host, session)).toEqual([]);
  });
  it("offers the host every control that fits the target's state", () => {
    const t = member(3, "participant", { videoOn: true, handRaised: true });
    expect(memberActions(host, t, session)).toEqual([
      "mute",
      "stop_video",
      "lower_hand",
      "deafen",
      "spotlight",
      "rename",
      "demote",
      "make_manager",
      "transfer_host",
      "remove",
    ]);
  });
  it("offers to let a deafened member hear again instead of deafening twice", () => {
    const acts = memberActions(host, member(3, "participant", { deafened: true }), session);
    expect(acts).toContain("undeafen");
    expect(acts).not.toContain("deafen");
  });
  it("asks a muted member to unmute instead of muting again", () => {
    const acts = memberActions(host, member(3, "participant", { audioMuted: true }), session);
    expect(acts).toContain("ask_unmute");
    expect(acts).not.toContain("mute");
  });
  it("offers promotion for the audience and revocation for managers", () => {
    expect(memberActions(host, member(3, "audience"), session)).toContain("promote");
    expect(memberActions(host, member(3, "manager"), session)).toContain("revoke_manager");
  });
  it("clears a spotlight on the spotlighted member", () => {
    expect(memberActions(host, member(3, "participant"), { ...session, spotlight: 3 })).toContain("unspotlight");
  });
  it("gives a manager no role changes and no power over the host", () => {
    const acts = memberActions(manager, member(3, "participant"), session);
    expect(acts).not.toContain("make_manager");
    expect(acts).not.toContain("transfer_host");
    expect(acts).toContain("remove");
    expect(memberActions(manager, member(1, "host"), session)).toEqual([]);
  });
});
