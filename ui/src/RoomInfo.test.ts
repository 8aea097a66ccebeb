// Room info rendered to HTML on the server side of Svelte: the session's metadata is plain
// text for everyone, its form only for hosts and managers, my own form for all.
import { describe, expect, it } from "vitest";
import { render } from "svelte/server";
import RoomInfo from "./RoomInfo.svelte";
import { member, noAudience, session } from "./lib/fixtures";
import type { CallSnapshot, MemberView } from "./lib/generated/call";

function snapshotOf(role: MemberView["role"]): CallSnapshot {
  return {
    me: 1,
    role,
    session,
    members: [member(1, role, { isMe: true, name: "Ann" })],
    audience: noAudience,
    lobby: [],
    link: "connected",
    metadata: [
      { key: "agenda", value: '["<b>intro</b>","q&a"]' },
      { key: "topic", value: '"Q3 review"' },
    ],
    myMetadata: [{ key: "status", value: '{"away":true}' }],
  };
}

describe("room info", () => {
  it("shows the room's keys and JSON values as text, escaped, to a participant without a form", () => {
    const html = render(RoomInfo, { props: { snapshot: snapshotOf("participant") } }).body;
    expect(html).toMatch(/<dt[^>]*>agenda<\/dt>/);
    expect(html).toContain('["&lt;b>intro&lt;/b>","q&amp;a"]');
    expect(html).not.toContain("<b>intro</b>");
    expect(html).not.toContain('id="metadata-room"');
    // My own metadata, with its form.
    expect(html).toMatch(/<dt[^>]*>status<\/dt>/);
    expect(html).toContain('id="metadata-mine"');
  });

  it("gives hosts and managers the room's form", () => {
    for (const role of ["host", "manager"] as const) {
      const html = render(RoomInfo, { props: { snapshot: snapshotOf(role) } }).body;
      expect(html).toContain('id="metadata-room"');
    }
  });
});
