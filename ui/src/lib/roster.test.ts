import { describe, expect, it } from "vitest";
import {
  activeSpeaker,
  byImportance,
  countLabel,
  gridColumns,
  handQueue,
  initials,
  listRows,
  peopleCount,
  sortForList,
  stage,
  tileStage,
  withoutNoVideo,
} from "./roster";
import { member, session } from "./fixtures";

describe("sortForList", () => {
  it("puts me first, then raised hands, then by role and join order", () => {
    const list = [
      member(1, "host"),
      member(2, "participant"),
      member(3, "audience", { handRaised: true }),
      member(4, "manager"),
      member(5, "participant", { isMe: true }),
      member(6, "participant"),
    ];
    expect(sortForList(list).map((m) => m.id)).toEqual([5, 3, 1, 4, 2, 6]);
  });
  it("does not change its input", () => {
    const list = [member(2, "participant"), member(1, "host")];
    sortForList(list);
    expect(list.map((m) => m.id)).toEqual([2, 1]);
  });
});

describe("countLabel", () => {
  it("counts people and the audience apart", () => {
    expect(countLabel([member(1, "host")], 0)).toBe("1 person");
    expect(countLabel([member(1, "host"), member(2, "participant"), member(3, "participant")], 0)).toBe("3 people");
    expect(countLabel([member(1, "host")], 1)).toBe("2 people (1 in the audience)");
  });
  it("counts the audience once when I am in it, with thousands grouped", () => {
    const members = [member(1, "host"), member(2, "audience", { isMe: true })];
    expect(countLabel(members, 4950)).toBe("4,951 people (4,950 in the audience)");
    expect(peopleCount(members, 4950)).toBe(4951);
  });
});

describe("handQueue", () => {
  it("lists the stage's hands in join order, then the audience's in raise order, never mine", () => {
    const members = [
      member(1, "host", { isMe: true, handRaised: true }),
      member(5, "participant", { handRaised: true, joinOrder: 5 }),
      member(3, "manager", { handRaised: true, joinOrder: 3 }),
      member(4, "participant"),
    ];
    const audience = [member(9, "audience", { handRaised: true }), member(7, "audience", { handRaised: true }), member(3, "manager")];
    expect(handQueue(members, audience).map((m) => m.id)).toEqual([3, 5, 9, 7]);
  });
  it("is empty when no hand is up", () => {
    expect(handQueue([member(1, "host")], [])).toEqual([]);
  });
});

describe("listRows", () => {
  const stage = [member(1, "host", { isMe: true }), member(2, "participant")];
  const audience = { count: 4950, open: false, members: [], more: true, error: null };
  const kinds = (rows: { kind: string; key: string }[]) => rows.map((r) => r.key);

  it("is the plain stage when there is nothing else", () => {
    const { rows } = listRows({ hands: [], stage, audience: null, search: null });
    expect(kinds(rows)).toEqual(["stage:1", "stage:2"]);
  });
  it("puts raised hands first, then the stage, then the audience folded with its count", () => {
    const { rows, audienceStart } = listRows({ hands: [member(9, "audience")], stage, audience, search: null });
    expect(kinds(rows)).toEqual(["heading:hands", "hands:9", "heading:stage", "stage:1", "stage:2", "audience"]);
    expect(rows[5]).toMatchObject({ kind: "audience", label: "Audience · 4,950", open: false });
    expect(audienceStart).toBe(6);
  });
  it("lists the loaded audience when open, ending with a loading row while more remain", () => {
    const open = { ...audience, open: true, members: [member(10, "audience"), member(11, "audience")] };
    const { rows, audienceStart } = listRows({ hands: [], stage, audience: open, search: null });
    expect(kinds(rows).slice(audienceStart)).toEqual(["audience:10", "audience:11", "loading"]);
    const done = listRows({ hands: [], stage, audience: { ...open, more: false }, search: null });
    expect(kinds(done.rows).slice(done.audienceStart)).toEqual(["audience:10", "audience:11"]);
  });
  it("does not count me on stage when I am in the audience", () => {
    const mine = [member(1, "audience", { isMe: true }), member(2, "host")];
    const { rows } = listRows({ hands: [], stage: mine, audience, search: null });
    expect(rows[0]).toMatchObject({ kind: "heading", label: "On stage · 1" });
  });
  it("shows the error in place of the loading row", () => {
    const failed = { ...audience, open: true, error: "Not connected" };
    const { rows } = listRows({ hands: [], stage, audience: failed, search: null });
    expect(rows.at(-1)).toMatchObject({ kind: "error", message: "Not connected" });
  });
  it("says so when a search finds no one, and waits for the audience's count", () => {
    expect(kinds(listRows({ hands: [], stage: [], audience: null, search: "zed" }).rows)).toEqual(["empty"]);
    const pending = listRows({ hands: [], stage: [], audience: { ...audience, count: null, open: true }, search: "zed" });
    expect(pending.rows[0]).toMatchObject({ kind: "audience", label: "Audience · …" });
    expect(kinds(pending.rows)).toEqual(["audience", "loading"]);
  });
});

describe("activeSpeaker", () => {
  it("ignores muted talkers and keeps the current speaker while they talk", () => {
    const a = member(1, "host", { talking: true });
    const b = member(2, "participant", { talking: true });
    const muted = member(3, "participant", { talking: true, audioMuted: true });
    expect(activeSpeaker([muted], null)).toBeNull();
    expect(activeSpeaker([a, b], null)).toBe(1);
    expect(activeSpeaker([a, b], 2)).toBe(2);
    expect(activeSpeaker([a, { ...b, talking: false }], 2)).toBe(1);
  });
});

describe("stage", () => {
  const me = member(1, "host", { isMe: true });
  const others = [member(2, "participant"), member(3, "participant"), member(4, "audience")];
  const members = [me, ...others];

  it("shows every publisher in gallery view; the audience has no tile", () => {
    const s = stage({ members, session }, "gallery", null, null);
    expect(s.main).toBeNull();
    expect(s.others.map((m) => m.id)).toEqual([1, 2, 3]);
  });
  it("puts the active speaker on the main tile in speaker view", () => {
    const s = stage({ members, session }, "speaker", null, 3);
    expect(s.main?.id).toBe(3);
    expect(s.reason).toBe("speaker");
    expect(s.others.map((m) => m.id)).toEqual([1, 2]);
  });
  it("lets a pin win over the spotlight, and the spotlight win over the speaker", () => {
    const spot = { ...session, spotlight: 2 };
    expect(stage({ members, session: spot }, "gallery", null, 3).main?.id).toBe(2);
    expect(stage({ members, session: spot }, "gallery", 3, null)).toMatchObject({ reason: "pinned" });
  });
  it("shows someone else when nobody talks", () => {
    expect(stage({ members, session }, "speaker", null, null).main?.id).toBe(2);
    expect(stage({ members: [me], session }, "speaker", null, null).main?.id).toBe(1);
  });
  it("puts raised hands first when the host asks for it, each group in join order", () => {
    const hands = [me, member(2, "participant"), member(3, "participant", { handRaised: true }), member(5, "manager", { handRaised: true })];
    expect(stage({ members: hands, session }, "gallery", null, null).others.map((m) => m.id)).toEqual([1, 2, 3, 5]);
    const first = { ...session, handsFirst: true };
    expect(stage({ members: hands, session: first }, "gallery", null, null).others.map((m) => m.id)).toEqual([3, 5, 1, 2]);
  });
  it("ignores a pin on someone who left", () => {
    expect(stage({ members, session }, "gallery", 99, null).main).toBeNull();
  });
});

describe("gridColumns", () => {
  it("fits tiles as large as the box allows", () => {
    expect(gridColumns(1, 1000, 600)).toBe(1);
    expect(gridColumns(2, 1600, 500)).toBe(2);
    expect(gridColumns(4, 1600, 900)).toBe(2);
    expect(gridColumns(9, 1600, 900)).toBe(3);
    expect(gridColumns(3, 400, 1200)).toBe(1);
    expect(gridColumns(5, 0, 0)).toBe(1);
  });
});

describe("initials", () => {
  it("takes the first letters of the first and last word", () => {
    expect(initials("ann lee")).toBe("AL");
    expect(initials("  Bo ")).toBe("B");
    expect(initials("")).toBe("?");
    expect(initials("Émile Zola Jr")).toBe("ÉJ");
  });
  it("skips invisible format characters", () => {
    expect(initials("\u202eEve \u200bAdams")).toBe("EA");
    expect(initials("\u200b\u2066")).toBe("?");
  });
});

describe("byImportance", () => {
  const size = (participant: number, width: number) => ({ participant, width, height: (width * 9) / 16 });
  it("puts the pinned, spotlighted and speaking members first, then larger tiles", () => {
    const sizes = [size(1, 320), size(2, 640), size(3, 320), size(4, 320), size(5, 480)];
    const order = byImportance(sizes, { pinned: 4, spotlight: 3, speaker: 1 }).map((s) => s.participant);
    expect(order).toEqual([4, 3, 1, 2, 5]);
  });
  it("keeps a stable order without any focus", () => {
    const sizes = [size(3, 320), size(1, 320), size(2, 320)];
    expect(byImportance(sizes, { pinned: null, spotlight: null, speaker: null }).map((s) => s.participant)).toEqual([1, 2, 3]);
  });
});

describe("tileStage", () => {
  const me = member(1, "host", { isMe: true });
  const names = (tiles: { member: { id: number }; screen: boolean }[]) =>
    tiles.map((t) => `${t.screen ? "screen" : "camera"}:${t.member.id}`);

  it("is the plain stage while nobody shares", () => {
    const members = [me, member(2, "participant")];
    const s = tileStage({ members, session }, "gallery", null, null);
    expect(s.main).toBeNull();
    expect(names(s.others)).toEqual(["camera:1", "camera:2"]);
  });
  it("puts the earliest sharer's screen on the large tile, cameras beside it", () => {
    const members = [
      me,
      member(3, "participant", { sharing: true, joinOrder: 3 }),
      member(2, "participant", { sharing: true, joinOrder: 2 }),
      member(4, "audience", { sharing: true, joinOrder: 4 }),
    ];
    const s = tileStage({ members, session: { ...session, spotlight: 1 } }, "gallery", null, 1);
    expect(s.main && names([s.main])).toEqual(["screen:2"]);
    expect(names(s.others)).toEqual(["screen:3", "camera:1", "camera:3", "camera:2"]);
  });
  it("lets my pin win over a share, which then waits in the strip", () => {
    const members = [me, member(2, "participant", { sharing: true })];
    const s = tileStage({ members, session }, "speaker", 1, null);
    expect(s.main && names([s.main])).toEqual(["camera:1"]);
    expect(names(s.others)).toEqual(["screen:2", "camera:2"]);
  });
  it("shows my own share", () => {
    const s = tileStage({ members: [{ ...me, sharing: true }], session }, "gallery", null, null);
    expect(s.main && names([s.main])).toEqual(["screen:1"]);
  });
});

describe("withoutNoVideo", () => {
  const names = (tiles: { member: { id: number }; screen: boolean }[]) =>
    tiles.map((t) => `${t.screen ? "screen" : "camera"}:${t.member.id}`);

  it("leaves out others with their camera off, never me, a screen or the large tile", () => {
    const members = [
      member(1, "host", { isMe: true, videoOn: false }),
      member(2, "participant", { videoOn: true }),
      member(3, "participant", { videoOn: false, sharing: true, joinOrder: 3 }),
      member(4, "participant", { videoOn: false }),
    ];
    const staged = tileStage({ members, session }, "gallery", null, null);
    const { view, hidden } = withoutNoVideo(staged);
    expect(view.main && names([view.main])).toEqual(["screen:3"]);
    expect(names(view.others)).toEqual(["camera:1", "camera:2"]);
    expect(hidden).toBe(2);
  });
  it("hides nothing when everyone's camera is on", () => {
    const members = [member(1, "host", { isMe: true }), member(2, "participant", { videoOn: true })];
    const staged = tileStage({ members, session }, "gallery", null, null);
    expect(withoutNoVideo(staged).hidden).toBe(0);
  });
});
