import { describe as suite, expect, it } from "vitest";
import { describe, turnHeading } from "./describe";

suite("timeline lines", () => {
  it("says an approval's answer in words", () => {
    const line = describe({
      type: "approvalAnswered",
      callId: "c1",
      decision: "approve-for-session",
      actor: "user",
    });
    expect(line.label).toBe("approval: approved for the session");
    expect(line.tone).toBe("good");
    expect(
      describe({ type: "approvalAnswered", callId: "c1", decision: "deny", actor: "user" }),
    ).toMatchObject({ label: "approval: denied", tone: "bad" });
  });

  it("joins a result's parts without a dangling separator when there is no output", () => {
    const result = { type: "toolResult" as const, callId: "c1", success: true, durationMs: 12 };
    expect(describe({ ...result, exitCode: 0, output: "" }).text).toBe("exit 0 · 12 ms");
    expect(describe({ ...result, output: "done" }).text).toBe("12 ms · done");
  });

  it("heads each turn, and what came before the first prompt", () => {
    expect(turnHeading(0)).toBe("Before the first prompt");
    expect(turnHeading(3)).toBe("Turn 3");
  });
});
