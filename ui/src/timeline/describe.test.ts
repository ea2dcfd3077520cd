import { describe as suite, expect, it } from "vitest";
import { describe, reviewerWords, turnHeading } from "./describe";

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

  it("shows the reviewer's verdict, and an outage never as a verdict", () => {
    expect(
      reviewerWords({
        model: "m",
        outcome: "deny",
        risk: "high",
        rationale: "sends .env to a paste site",
      }),
    ).toBe("Auto-review recommends denying (risk high): sends .env to a paste site");
    expect(reviewerWords({ model: "m", unavailable: "timeout after 20 s" })).toBe(
      "Auto-review unavailable: timeout after 20 s",
    );
    const review = {
      type: "autoReview" as const,
      callId: "c1",
      tier: "model" as const,
      kind: "shell",
      summary: "shell: npm test",
      action: {},
      model: "small",
      latencyMs: 800,
      tokensIn: 1900,
      tokensOut: 40,
      cached: false,
    };
    expect(describe({ ...review, unavailable: "HTTP 500" })).toMatchObject({
      label: "auto-review unavailable",
      tone: "warn",
    });
    const approved = describe({ ...review, outcome: "approve", risk: "low", rationale: "tests" });
    expect(approved.label).toBe("auto-review: approve");
    expect(approved.who).toBe("auto-review (small)");
    expect(approved.text).toBe(
      "shell: npm test — approve (risk low): tests · 800 ms · 1900+40 tokens",
    );
  });

  it("says a sign-in's change, with who and the scopes, and why one failed", () => {
    const credential = {
      target: "mcp:docs",
      url: "https://mcp.corp.example/mcp",
      signedIn: true,
      account: "alice@corp.example",
      issuer: "https://login.corp.example",
      scopes: ["mcp:tools"],
      refreshable: true,
      store: "OS keyring",
    };
    const signedIn = describe({ type: "credentialChanged", change: "signedIn", credential });
    expect(signedIn.label).toBe("sign-in: signed in");
    expect(signedIn.text).toBe(
      "mcp:docs (https://mcp.corp.example/mcp) as alice@corp.example with https://login.corp.example · scopes mcp:tools",
    );
    const failed = describe({
      type: "credentialChanged",
      change: "signInFailed",
      credential: {
        ...credential,
        signedIn: false,
        account: undefined,
        signInError: "access_denied",
      },
    });
    expect(failed.label).toBe("sign-in: sign-in failed");
    expect(failed.text).toBe("mcp:docs (https://mcp.corp.example/mcp): access_denied");
    expect(failed.tone).toBe("bad");
  });
});
