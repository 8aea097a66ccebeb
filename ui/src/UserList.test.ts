// The user list with a large session, rendered to HTML on the server side of Svelte: the
// rows in the DOM are a window of the list, the audience is a folded group with its count,
// and hosts see the raised hands first.
import { describe, expect, it } from "vitest";
import { render } from "svelte/server";
import UserList from "./UserList.svelte";
import { member, noAudience, session } from "./lib/fixtures";
import type { CallSnapshot, MemberView } from "./lib/generated/call";

function snapshotOf(role: MemberView["role"], stage: number, audience: CallSnapshot["audience"]): CallSnapshot {
  const members = [member(1, role, { isMe: true, name: "Ann" })];
  for (let id = 2; id <= stage; id++) members.push(member(id, "participant", { handRaised: id === 7 }));
  return { me: 1, role, session, members, audience, lobby: [], link: "connected", metadata: [], myMetadata: [] };
}

/** The member rows in the HTML, by id, in order. */
function rows(html: string): number[] {
  return [...html.matchAll(/<li class="member[^"]*"[^>]*data-member="(\d+)"/g)].map((m) => Number(m[1]));
}

const hands = [member(5001, "audience", { handRaised: true }), member(5002, "audience", { handRaised: true })];

describe("the user list", () => {
  it("lists a small session in full, me first, without headings", () => {
    const html = render(UserList, { props: { snapshot: snapshotOf("host", 3, noAudience), onendforall: () => undefined } }).body;
    expect(rows(html)).toEqual([1, 2, 3]);
    expect(html).not.toContain("On stage");
    expect(html).toContain("3 people");
  });

  it("puts only a window of a long stage in the DOM", () => {
    const html = render(UserList, { props: { snapshot: snapshotOf("participant", 1000, noAudience), onendforall: () => undefined } }).body;
    const shown = rows(html);
    expect(shown[0]).toBe(1);
    expect(shown.length).toBeGreaterThan(5);
    expect(shown.length).toBeLessThan(40);
    expect(html).toContain("1,000 people");
  });

  it("shows hosts the raised hands first, and the large audience folded with its count", () => {
    const snapshot = snapshotOf("host", 10, { count: 4950, raisedHands: hands });
    const html = render(UserList, { props: { snapshot, onendforall: () => undefined } }).body;
    expect(html).toContain("Raised hands · 3");
    expect(rows(html).slice(0, 4)).toEqual([7, 5001, 5002, 1]);
    expect(html).toMatch(/aria-expanded="false"[^>]*>.*Audience · 4,950/s);
    expect(html).toContain("4,960 people (4,950 in the audience)");
  });

  it("shows others no queue: raised hands stay in the stage's order", () => {
    const snapshot = snapshotOf("participant", 10, { count: 4950, raisedHands: [] });
    const html = render(UserList, { props: { snapshot, onendforall: () => undefined } }).body;
    expect(html).not.toContain("Raised hands");
    expect(rows(html).slice(0, 3)).toEqual([1, 7, 2]);
    expect(html).toContain("Audience · 4,950");
  });

  it("opens a small audience, which then waits for its first page", () => {
    const snapshot = snapshotOf("participant", 3, { count: 20, raisedHands: [] });
    const html = render(UserList, { props: { snapshot, onendforall: () => undefined } }).body;
    expect(html).toMatch(/aria-expanded="true"[^>]*>.*Audience · 20/s);
    expect(html).toContain("Loading…");
  });

  it("gives a participant a menu (for their volume) on everyone's row but their own", () => {
    const html = render(UserList, { props: { snapshot: snapshotOf("participant", 3, noAudience), onendforall: () => undefined } }).body;
    expect(html).toContain('aria-label="Actions for m2"');
    expect(html).toContain('aria-label="Actions for m3"');
    expect(html).not.toContain('aria-label="Actions for Ann"');
  });
});
