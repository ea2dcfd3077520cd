import { describe, expect, it } from "vitest";
import type { Event, EventMsg } from "../generated/protocol";
import { applyEvent, emptyTranscript } from "./transcript";

let seq = 0;
const recorded = (msg: EventMsg): Event => ({ sessionId: "s", seq: ++seq, createdAt: 0, msg });
const live = (msg: EventMsg): Event => ({ sessionId: "s", seq: null, createdAt: 0, msg });

describe("transcript", () => {
  it("streams text, then settles on the recorded model turn", () => {
    const t = emptyTranscript();
    applyEvent(t, recorded({ type: "userPrompt", text: "hi" }));
    applyEvent(t, live({ type: "messageDelta", delta: "Hel" }));
    applyEvent(t, live({ type: "messageDelta", delta: "lo" }));
    expect(t.entries[1]).toMatchObject({ kind: "agent", text: "Hello", streaming: true });
    applyEvent(t, recorded({ type: "modelTurn", text: "Hello!", reasoning: "r", toolCalls: 0 }));
    expect(t.entries[1]).toEqual({
      kind: "agent",
      key: "agent-1",
      text: "Hello!",
      reasoning: "r",
      streaming: false,
    });
  });

  it("tracks a tool call through approval, result and sandbox denial", () => {
    const t = emptyTranscript();
    const callId = "c1";
    applyEvent(
      t,
      recorded({
        type: "toolCallProposed",
        callId,
        tool: "shell",
        summary: "touch x",
        cwd: "/w",
        arguments: {},
      }),
    );
    applyEvent(
      t,
      recorded({ type: "decision", callId, verdict: "prompt", actor: "rule", reasons: [] }),
    );
    applyEvent(
      t,
      recorded({
        type: "approvalRequested",
        callId,
        tool: "shell",
        summary: "touch x",
        cwd: "/w",
        reason: "why",
        canAlways: true,
      }),
    );
    expect(t.pending).toHaveLength(1);
    applyEvent(
      t,
      recorded({ type: "approvalAnswered", callId, decision: "approve-once", actor: "user" }),
    );
    expect(t.pending).toHaveLength(0);
    applyEvent(t, live({ type: "outputDelta", callId, stream: "stderr", chunk: "denied" }));
    applyEvent(
      t,
      recorded({
        type: "toolResult",
        callId,
        success: false,
        exitCode: 1,
        durationMs: 3,
        output: "x",
      }),
    );
    const denial = { operation: "write", target: "/x", layer: "landlock", detail: "blocked" };
    applyEvent(t, recorded({ type: "sandboxDenied", callId, denial }));
    expect(t.entries[0]).toMatchObject({
      kind: "tool",
      verdict: "prompt",
      decidedBy: "user: approved once",
      output: "x",
      result: { success: false, exitCode: 1, durationMs: 3 },
      denials: [denial],
    });
  });

  it("says which MCP servers started, and why one did not", () => {
    const t = emptyTranscript();
    applyEvent(
      t,
      recorded({
        type: "mcpServerStarted",
        server: "docs",
        command: "docs-mcp --stdio",
        tools: ["mcp__docs__search", "mcp__docs__fetch"],
      }),
    );
    applyEvent(
      t,
      recorded({
        type: "mcpServerStarted",
        server: "gh",
        command: "gh-mcp",
        tools: [],
        error: "initialize: no answer within 20 s",
      }),
    );
    expect(t.entries).toMatchObject([
      { kind: "notice", tone: "info", text: "MCP server docs started (2 tools)" },
      {
        kind: "notice",
        tone: "error",
        text: "MCP server gh did not start: initialize: no answer within 20 s",
      },
    ]);
  });

  it("shows a rule written by an always answer, and a failed write as an error", () => {
    const t = emptyTranscript();
    const file = "/home/me/.config/warden/rules/default.rules";
    applyEvent(
      t,
      recorded({
        type: "configChanged",
        callId: "c1",
        file,
        change: "prefix_rule(touch x) = allow",
        actor: "user",
      }),
    );
    applyEvent(
      t,
      recorded({
        type: "configChanged",
        file,
        change: "network_rule(web.test) = allow",
        actor: "user",
        error: "permission denied",
      }),
    );
    expect(t.entries).toMatchObject([
      { kind: "notice", tone: "info", text: `Added prefix_rule(touch x) = allow to ${file}` },
      {
        kind: "notice",
        tone: "error",
        text: `Could not add network_rule(web.test) = allow to ${file}: permission denied`,
      },
    ]);
  });

  it("ignores recorded events it has already applied", () => {
    const t = emptyTranscript();
    const e = recorded({ type: "userPrompt", text: "once" });
    expect(applyEvent(t, e)).toBe(true);
    expect(applyEvent(t, e)).toBe(false);
    expect(t.entries).toHaveLength(1);
  });

  it("counts what auto-review approved, what was asked, and what the reviewer spent", () => {
    const t = emptyTranscript();
    const review = {
      type: "autoReview" as const,
      kind: "shell",
      summary: "shell: x",
      action: {},
      latencyMs: 0,
      tokensIn: 0,
      tokensOut: 0,
      cached: false,
    };
    applyEvent(
      t,
      recorded({
        type: "toolCallProposed",
        callId: "a",
        tool: "shell",
        summary: "x",
        cwd: "/w",
        arguments: {},
      }),
    );
    applyEvent(
      t,
      recorded({ ...review, callId: "a", tier: "rules", outcome: "approve", rationale: "low" }),
    );
    applyEvent(
      t,
      recorded({
        ...review,
        callId: "a",
        tier: "model",
        outcome: "approve",
        tokensIn: 100,
        tokensOut: 5,
      }),
    );
    applyEvent(
      t,
      recorded({ ...review, callId: "b", tier: "model", outcome: "approve", cached: true }),
    );
    applyEvent(
      t,
      recorded({
        ...review,
        callId: "c",
        tier: "model",
        unavailable: "timeout after 20 s",
        tokensIn: 50,
      }),
    );
    applyEvent(
      t,
      recorded({
        type: "approvalRequested",
        callId: "c",
        tool: "shell",
        summary: "y",
        cwd: "/w",
        reason: "why",
        canAlways: false,
        review: { model: "m", unavailable: "timeout after 20 s" },
      }),
    );
    expect(t.review).toEqual({ approved: 3, asked: 1, reviews: 2, tokens: 155 });
    expect(t.pending[0].review?.unavailable).toBe("timeout after 20 s");
    const entry = t.entries.find((e) => e.kind === "tool");
    expect(entry?.kind === "tool" && entry.reviews).toEqual([
      "auto-review (rules): approve — low",
      "auto-review (model): approve — ",
    ]);
  });
});
