// Builds the live transcript of one session from its event stream. Recorded events are
// authoritative; transient deltas only fill in text while it streams.
import type {
  Event,
  EventMsg,
  NetworkAccess,
  Reason,
  ReviewerNote,
  SandboxDenial,
  Verdict,
} from "../generated/protocol";
import { answerWords } from "../timeline/describe";

export type Entry =
  | { kind: "user"; key: string; text: string }
  | { kind: "agent"; key: string; text: string; reasoning: string; streaming: boolean }
  | {
      kind: "tool";
      key: string;
      callId: string;
      tool: string;
      summary: string;
      cwd: string;
      verdict?: Verdict;
      decidedBy?: string;
      reasons: Reason[];
      output: string;
      result?: { success: boolean; exitCode?: number; durationMs: number };
      denials: SandboxDenial[];
      /** Connections its command made through the egress proxy. */
      network: NetworkAccess[];
      /** What auto-review said of it (the command, its connections, a rerun). */
      reviews: string[];
    }
  | { kind: "notice"; key: string; tone: "info" | "error"; text: string };

export interface PendingApproval {
  callId: string;
  tool: string;
  summary: string;
  cwd: string;
  reason: string;
  /** Risk score and reasons (`high: rewrites history`), for commands. */
  risk?: string;
  /** Whether "always allow" (a user rule) may be offered. */
  canAlways: boolean;
  /** When an unanswered question is refused (ms since the epoch; network questions). */
  expiresAt?: number;
  /** What the reviewer model said, when it was asked. */
  review?: ReviewerNote;
  /** An MCP server's own claims about its tool (`read-only`, `destructive`). */
  hints: string[];
}

/** Auto-review in this session: what it let through, what went to the person, and what
 * the reviewer model spent. */
export interface ReviewTally {
  approved: number;
  asked: number;
  reviews: number;
  tokens: number;
}

export interface Transcript {
  entries: Entry[];
  pending: PendingApproval[];
  /** Highest recorded seq applied, to skip duplicates after a reload. */
  lastSeq: number;
  running: boolean;
  review: ReviewTally;
}

export function emptyTranscript(): Transcript {
  return {
    entries: [],
    pending: [],
    lastSeq: 0,
    running: false,
    review: { approved: 0, asked: 0, reviews: 0, tokens: 0 },
  };
}

function streamingAgent(t: Transcript): Extract<Entry, { kind: "agent" }> {
  const last = t.entries[t.entries.length - 1];
  if (last?.kind === "agent" && last.streaming) return last;
  const entry: Entry = {
    kind: "agent",
    key: `agent-${t.entries.length}`,
    text: "",
    reasoning: "",
    streaming: true,
  };
  t.entries.push(entry);
  return entry;
}

function tool(t: Transcript, callId: string): Extract<Entry, { kind: "tool" }> | undefined {
  for (let i = t.entries.length - 1; i >= 0; i--) {
    const e = t.entries[i];
    if (e.kind === "tool" && e.callId === callId) return e;
  }
  return undefined;
}

/** Apply one event in place. Returns false if it was already applied. */
export function applyEvent(t: Transcript, event: Event): boolean {
  if (event.seq !== null) {
    if (event.seq <= t.lastSeq) return false;
    t.lastSeq = event.seq;
  }
  apply(t, event.msg);
  return true;
}

function apply(t: Transcript, msg: EventMsg) {
  switch (msg.type) {
    case "sessionStarted":
      t.entries.push({
        kind: "notice",
        key: `n-${t.entries.length}`,
        tone: "info",
        text: `Session started in ${msg.cwd} · sandbox ${msg.sandbox} · approval ${msg.approval} · ${msg.model}`,
      });
      break;
    case "userPrompt":
      t.running = true;
      t.entries.push({ kind: "user", key: `u-${t.entries.length}`, text: msg.text });
      break;
    case "reasoningDelta":
      streamingAgent(t).reasoning += msg.delta;
      break;
    case "messageDelta":
      streamingAgent(t).text += msg.delta;
      break;
    case "modelTurn": {
      const agent = streamingAgent(t);
      agent.text = msg.text;
      agent.reasoning = msg.reasoning;
      agent.streaming = false;
      if (!msg.text && !msg.reasoning) t.entries.pop();
      break;
    }
    case "toolCallProposed":
      t.entries.push({
        kind: "tool",
        key: `t-${msg.callId}-${t.entries.length}`,
        callId: msg.callId,
        tool: msg.tool,
        summary: msg.summary,
        cwd: msg.cwd,
        reasons: [],
        output: "",
        denials: [],
        network: [],
        reviews: [],
      });
      break;
    case "decision": {
      const entry = tool(t, msg.callId);
      if (entry) {
        entry.verdict = msg.verdict;
        entry.decidedBy = msg.actor;
        entry.reasons = msg.reasons;
      }
      break;
    }
    case "approvalRequested":
      t.review.asked += 1;
      t.pending.push({
        callId: msg.callId,
        tool: msg.tool,
        summary: msg.summary,
        cwd: msg.cwd,
        reason: msg.reason,
        risk: msg.risk,
        canAlways: msg.canAlways,
        expiresAt: msg.expiresAt,
        review: msg.review,
        hints: msg.hints ?? [],
      });
      break;
    case "autoReview": {
      if (msg.outcome === "approve") t.review.approved += 1;
      if (msg.tier === "model" && !msg.cached) {
        t.review.reviews += 1;
        t.review.tokens += msg.tokensIn + msg.tokensOut;
      }
      const words = msg.unavailable
        ? `auto-review unavailable: ${msg.unavailable}`
        : `auto-review ${msg.tier === "rules" ? "(rules)" : `(${msg.model ?? "model"})`}: ${msg.outcome}${msg.risk ? `, risk ${msg.risk}` : ""} — ${msg.rationale ?? ""}`;
      tool(t, msg.callId)?.reviews.push(msg.kind === "shell" ? words : `${msg.summary}: ${words}`);
      break;
    }
    case "approvalAnswered": {
      t.pending = t.pending.filter((p) => p.callId !== msg.callId);
      const entry = tool(t, msg.callId);
      if (entry) entry.decidedBy = `${msg.actor}: ${answerWords(msg.decision)}`;
      break;
    }
    case "outputDelta": {
      const entry = tool(t, msg.callId);
      if (entry) entry.output += msg.chunk;
      break;
    }
    case "toolResult": {
      const entry = tool(t, msg.callId);
      if (entry) {
        entry.output = msg.output;
        entry.result = {
          success: msg.success,
          exitCode: msg.exitCode,
          durationMs: msg.durationMs,
        };
      }
      break;
    }
    case "sandboxDenied":
      tool(t, msg.callId)?.denials.push(msg.denial);
      break;
    case "networkAccess":
      if (msg.callId) tool(t, msg.callId)?.network.push(msg.access);
      break;

    case "configChanged":
      t.entries.push({
        kind: "notice",
        key: `n-${t.entries.length}`,
        tone: msg.error ? "error" : "info",
        text: msg.error
          ? `Could not add ${msg.change} to ${msg.file}: ${msg.error}`
          : `Added ${msg.change} to ${msg.file}`,
      });
      break;
    case "mcpServerStarted":
      t.entries.push({
        kind: "notice",
        key: `n-${t.entries.length}`,
        tone: msg.error ? "error" : "info",
        text: msg.error
          ? `MCP server ${msg.server} did not start: ${msg.error}`
          : `MCP server ${msg.server} started (${msg.tools.length} tools)`,
      });
      break;
    case "error":
      t.entries.push({
        kind: "notice",
        key: `n-${t.entries.length}`,
        tone: "error",
        text: `${msg.message} (${msg.code})`,
      });
      break;
    case "turnComplete":
      t.running = false;
      break;
    case "turnAborted":
      t.running = false;
      t.pending = [];
      t.entries.push({
        kind: "notice",
        key: `n-${t.entries.length}`,
        tone: "error",
        text: `Turn stopped: ${msg.reason}`,
      });
      break;
    case "sessionEnded":
      t.running = false;
      t.pending = [];
      t.entries.push({
        kind: "notice",
        key: `n-${t.entries.length}`,
        tone: "info",
        text: `Session ended (${msg.reason})`,
      });
      break;
  }
}
