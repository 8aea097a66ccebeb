import { describe, expect, it } from "vitest";
import { chatHeading, draftError, lastSeq, mergeChat, unreadCount } from "./chat";
import type { ChatView, MemberView } from "./generated/call";
import { plain } from "./named";

const msg = (seq: number, from: number, to: number | null = null, text = `m${seq}`): ChatView => ({
  seq,
  from,
  fromName: `user${from}`,
  to,
  text,
});

describe("mergeChat", () => {
  it("orders by seq and drops duplicates", () => {
    const merged = mergeChat([msg(1, 1), msg(3, 2)], [msg(2, 2), msg(3, 2), msg(5, 1)]);
    expect(merged.map((m) => m.seq)).toEqual([1, 2, 3, 5]);
  });
});

describe("unreadCount", () => {
  it("counts others' messages after the last seen one", () => {
    const list = [msg(1, 2), msg(2, 1), msg(3, 2), msg(4, 3)];
    expect(unreadCount(list, 1, 0)).toBe(3);
    expect(unreadCount(list, 1, 2)).toBe(2);
    expect(unreadCount(list, 1, lastSeq(list))).toBe(0);
    expect(lastSeq([])).toBe(0);
  });
});

describe("chatHeading", () => {
  const members = [{ id: 3, name: "Cy" } as MemberView];
  it("says who wrote to whom", () => {
    expect(plain(chatHeading(msg(1, 2), 1, members))).toBe("user2 to everyone");
    expect(plain(chatHeading(msg(1, 2, 1), 1, members))).toBe("user2 to you (privately)");
    expect(plain(chatHeading(msg(1, 1, 3), 1, members))).toBe("You to Cy (privately)");
    expect(plain(chatHeading(msg(1, 1, 9), 1, members))).toBe("You to someone who left (privately)");
  });
  it("marks the names, not the words around them", () => {
    expect(chatHeading(msg(1, 2, 3), 1, members)).toEqual([{ name: "user2" }, " to ", { name: "Cy" }, " (privately)"]);
    expect(chatHeading(msg(1, 1, 9), 1, members)).toEqual(["You", " to ", "someone who left", " (privately)"]);
  });
});

describe("draftError", () => {
  it("refuses empty and over-long messages", () => {
    expect(draftError("  ")).not.toBeNull();
    expect(draftError("x".repeat(4001))).toMatch(/4000/);
    expect(draftError("hi")).toBeNull();
  });
});
