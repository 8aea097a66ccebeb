import { describe, expect, it } from "vitest";
import {
  effectiveDisplayName,
  passcodeError,
  serverUrlError,
  sessionKey,
  sessionNameError,
  TOKEN_MAX,
  tokenError,
} from "./validate";

describe("session name", () => {
  it("must not be empty", () => {
    expect(sessionNameError("")).toMatch(/Enter/);
    expect(sessionNameError("   ")).toMatch(/Enter/);
  });
  it("allows 150 characters, counting code points", () => {
    expect(sessionNameError("a".repeat(150))).toBeNull();
    expect(sessionNameError("😀".repeat(150))).toBeNull();
    expect(sessionNameError("a".repeat(151))).toMatch(/at most 150/);
  });
  it("is compared case-insensitively", () => {
    expect(sessionKey(" Team Standup ")).toBe(sessionKey("team STANDUP"));
  });
});

describe("display name", () => {
  it("defaults when empty", () => {
    expect(effectiveDisplayName("  ")).toBe("Guest");
  });
  it("is truncated, not rejected", () => {
    expect([...effectiveDisplayName("é".repeat(250))].length).toBe(200);
  });
});

describe("passcode", () => {
  it("is optional", () => expect(passcodeError("")).toBeNull());
  it("takes 1-10 printable ASCII characters", () => {
    expect(passcodeError("a b~!")).toBeNull();
    expect(passcodeError("12345678901")).toMatch(/at most 10/);
    expect(passcodeError("pässword")).toMatch(/ASCII/);
    expect(passcodeError("tab\there")).toMatch(/ASCII/);
  });
});

describe("join token", () => {
  const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzZXNzaW9uIjoiV2Vla2x5In0.c2lnbmF0dXJl";
  it("is optional", () => expect(tokenError("  ")).toBeNull());
  it("takes a JWT, with the spaces a paste brings", () => {
    expect(tokenError(jwt)).toBeNull();
    expect(tokenError(`  ${jwt}\n`)).toBeNull();
  });
  it("refuses what is not one, in words", () => {
    for (const bad of ["hunter2", "a.b", `${jwt}.extra`, "a b.c.d", "<script>.x.y", "eyJ\u202e.x.y"]) {
      expect(tokenError(bad), bad).toMatch(/isn't a join token/);
    }
  });
  it("is bounded", () => {
    const huge = `${"a".repeat(TOKEN_MAX)}.b.c`;
    expect(tokenError(huge)).toMatch(/at most/);
  });
});

describe("server address", () => {
  it("empty means this computer", () => expect(serverUrlError("")).toBeNull());
  it("accepts host:port and URLs", () => {
    expect(serverUrlError("meet.example.org:7880")).toBeNull();
    expect(serverUrlError("https://meet.example.org")).toBeNull();
  });
  it("refuses other schemes and junk", () => {
    expect(serverUrlError("ftp://x")).toMatch(/https/);
    expect(serverUrlError("http://[bad")).toMatch(/does not look/);
  });
});
