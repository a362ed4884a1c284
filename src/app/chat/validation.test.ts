import { describe, expect, it } from "vitest";
import { usernameKey, validMessage, validUsername } from "./validation";

describe("chat input validation", () => {
  it.each(["alice", "Bob_2", "Zoë", "李雷", "jean-luc.p", "  padded  "])("accepts the username %j", (name) => {
    expect(validUsername(name)).toBe(name.trim());
  });
  it.each([42, null, "", "   ", "x".repeat(25), "<b>", "a/b", "tab\there", "___", "emoji🙂"])("refuses the username %j", (name) => {
    expect(validUsername(name)).toBeUndefined();
  });
  it("treats case and Unicode forms as one name", () => {
    expect(usernameKey("ALICE")).toBe(usernameKey("alice"));
    expect(usernameKey("ﬁona")).toBe(usernameKey("fiona"));
  });
  it.each(["hi", "two\nlines", "<script>alert(1)</script>", "x".repeat(500)])("accepts the message %j", (m) => {
    expect(validMessage(m)).toBe(m);
  });
  it.each([undefined, 1, {}, "", "  ", "x".repeat(501), "nul\u0000"])("refuses the message %j", (m) => {
    expect(validMessage(m)).toBeUndefined();
  });
});
