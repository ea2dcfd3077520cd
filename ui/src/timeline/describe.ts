// One line per recorded event for the Timeline.
import type {
  EventMsg,
  NetworkAccess,
  ReviewDecision,
  ReviewerNote,
  SessionPolicy,
} from "../generated/protocol";

export interface Line {
  label: string;
  who: string;
  text: string;
  tone: "plain" | "good" | "warn" | "bad";
}

/** " · policy: 42 settings, 3 locked by admin requirements" (nothing for old sessions). */
function policySummary(policy: SessionPolicy | undefined): string {
  if (!policy || policy.values.length === 0) return "";
  const locked = policy.values.filter((v) => v.lockedBy).length;
  const lockedText = locked > 0 ? `, ${locked} locked by admin requirements` : "";
  return ` · policy: ${policy.values.length} settings${lockedText}`;
}

/** An approval's answer in words: "approved once", "denied". */
export function answerWords(decision: ReviewDecision): string {
  switch (decision) {
    case "approve-once":
      return "approved once";
    case "approve-for-session":
      return "approved for the session";
    case "approve-always":
      return "always allowed";
    case "deny":
      return "denied";
    case "abort":
      return "aborted";
  }
}

/** What the reviewer model said, as a card or a line shows it: "Auto-review recommends
 * denying (risk high): …", or "Auto-review unavailable: timeout after 20 s" (an outage is
 * never shown as a verdict). */
export function reviewerWords(note: ReviewerNote): string {
  if (note.unavailable) return `Auto-review unavailable: ${note.unavailable}`;
  const verb =
    note.outcome === "approve" ? "approving" : note.outcome === "deny" ? "denying" : "asking you";
  const risk = note.risk ? ` (risk ${note.risk})` : "";
  return `Auto-review recommends ${verb}${risk}: ${note.rationale ?? ""}`;
}

export function describe(msg: EventMsg): Line {
  switch (msg.type) {
    case "sessionStarted": {
      const warnings = msg.policy?.warnings ?? [];
      return {
        label: "session started",
        who: "warden",
        text:
          `${msg.cwd}${msg.identity ? ` · on ${msg.identity.hostname} as ${msg.identity.user}` : ""} · sandbox ${msg.sandbox} · approval ${msg.approval} · ${msg.model} (${msg.wireApi})${policySummary(msg.policy)}` +
          warnings.map((w) => ` · WARNING: ${w}`).join(""),
        tone: warnings.length > 0 ? "warn" : "plain",
      };
    }
    case "userPrompt":
      return { label: "prompt", who: "user", text: msg.text, tone: "plain" };
    case "modelTurn":
      return {
        label: "model turn",
        who: "agent",
        text: msg.text || `${msg.toolCalls} tool call(s)`,
        tone: "plain",
      };
    case "toolCallProposed":
      return { label: `tool call: ${msg.tool}`, who: "agent", text: msg.summary, tone: "plain" };
    case "decision":
      return {
        label: `decision: ${msg.verdict}`,
        who: msg.actor,
        text: msg.reasons.map((r) => `${r.justification} [${r.rule}]`).join("; "),
        tone: msg.verdict === "allow" ? "good" : msg.verdict === "prompt" ? "warn" : "bad",
      };
    case "approvalRequested":
      return {
        label: "approval requested",
        who: "warden",
        text: `${msg.summary} — ${msg.reason}${msg.review ? ` · ${reviewerWords(msg.review)}` : ""}`,
        tone: "warn",
      };
    case "autoReview": {
      const by =
        msg.tier === "model"
          ? `auto-review (${msg.model ?? "reviewer model"})`
          : "auto-review (rules)";
      const cost =
        msg.tier === "rules"
          ? ""
          : msg.cached
            ? " · cached"
            : ` · ${msg.latencyMs} ms · ${msg.tokensIn}+${msg.tokensOut} tokens`;
      const said = msg.unavailable
        ? `unavailable: ${msg.unavailable}`
        : `${msg.outcome ?? ""}${msg.risk ? ` (risk ${msg.risk})` : ""}: ${msg.rationale ?? ""}`;
      return {
        label: msg.unavailable ? "auto-review unavailable" : `auto-review: ${msg.outcome}`,
        who: by,
        text: `${msg.summary} — ${said}${cost}`,
        tone: msg.unavailable ? "warn" : msg.outcome === "approve" ? "good" : "bad",
      };
    }
    case "approvalAnswered":
      return {
        label: `approval: ${answerWords(msg.decision)}`,
        who: msg.actor,
        text: msg.message ?? "",
        tone: msg.decision.startsWith("approve") ? "good" : "bad",
      };
    case "toolResult":
      return {
        label: msg.success ? "result: ok" : "result: failed",
        who: "warden",
        text: [
          msg.exitCode !== undefined ? `exit ${msg.exitCode}` : "",
          `${msg.durationMs} ms`,
          msg.output.slice(0, 300),
        ]
          .filter((part) => part !== "")
          .join(" · "),
        tone: msg.success ? "good" : "bad",
      };
    case "sandboxDenied":
      return {
        label: "sandbox denial",
        who: "sandbox",
        text: `${msg.denial.detail} [${msg.denial.layer}]`,
        tone: "bad",
      };
    case "networkAccess":
      return {
        label: `network: ${msg.access.decision}`,
        who: msg.access.actor,
        text: networkText(msg.access),
        tone: msg.access.decision === "allow" && !msg.access.error ? "good" : "bad",
      };
    case "configChanged":
      return {
        label: msg.error ? "rule not written" : "rule added",
        who: msg.actor,
        text: msg.error
          ? `${msg.change} in ${msg.file}: ${msg.error}`
          : `${msg.change} in ${msg.file}`,
        tone: msg.error ? "bad" : "warn",
      };
    case "credentialChanged": {
      const c = msg.credential;
      const words = {
        signedIn: "signed in",
        signedOut: "signed out",
        signInFailed: "sign-in failed",
      };
      const who = c.account ? ` as ${c.account}` : "";
      const scopes = c.scopes.length ? ` · scopes ${c.scopes.join(" ")}` : "";
      return {
        label: `sign-in: ${words[msg.change]}`,
        who: "user",
        text: c.signInError
          ? `${c.target} (${c.url}): ${c.signInError}`
          : `${c.target} (${c.url})${who}${c.issuer ? ` with ${c.issuer}` : ""}${scopes}`,
        tone: msg.change === "signInFailed" ? "bad" : "plain",
      };
    }
    case "processStarted":
      return {
        label: "process started",
        who: "warden",
        text: `pid ${msg.pid} · ${msg.executable} · ${msg.commandLine} · started ${formatTime(msg.startedAt)}`,
        tone: "plain",
      };
    case "triageReport":
      return {
        label: `triage: ${msg.report.verdict.replaceAll("_", " ")}`,
        who: "triage",
        text: `${msg.report.alert.rule ?? "alert"} · ${msg.report.matches.length} matching session(s) · ${msg.report.summary}`,
        tone:
          msg.report.verdict === "needs_escalation"
            ? "bad"
            : msg.report.verdict === "expected_agent_behavior"
              ? "good"
              : "warn",
      };
    case "commandStarted":
      return {
        label: "command (warden exec)",
        who: "user",
        text: `${msg.command} · in ${msg.cwd} · sandbox ${msg.sandbox} · network ${msg.network}`,
        tone: "plain",
      };
    case "mcpServerStarted":
      return {
        label: msg.error ? "MCP server failed" : "MCP server started",
        who: "warden",
        text: msg.error
          ? `${msg.server} (${msg.command}): ${msg.error}`
          : `${msg.server} (${msg.command}) · ${msg.tools.length} tools: ${msg.tools.join(", ")}`,
        tone: msg.error ? "bad" : "plain",
      };
    case "mcpCall":
      return {
        label: msg.isError ? "MCP call: error" : "MCP call",
        who: msg.server,
        text: `${msg.server}.${msg.tool} ${JSON.stringify(msg.arguments).slice(0, 200)} · ${msg.durationMs} ms · ${msg.result.slice(0, 300)}`,
        tone: msg.isError ? "bad" : "good",
      };
    case "error":
      return { label: "error", who: "warden", text: `${msg.message} (${msg.code})`, tone: "bad" };
    case "turnComplete":
      return { label: "turn complete", who: "warden", text: msg.lastMessage ?? "", tone: "plain" };
    case "turnAborted":
      return { label: "turn aborted", who: "warden", text: msg.reason, tone: "bad" };
    case "sessionEnded":
      return { label: "session ended", who: "warden", text: msg.reason, tone: "plain" };
    case "reasoningDelta":
    case "messageDelta":
      return { label: msg.type, who: "agent", text: msg.delta, tone: "plain" };
    case "outputDelta":
      return { label: "output", who: "warden", text: msg.chunk, tone: "plain" };
  }
}

export function formatTime(ms: number): string {
  return new Date(ms).toLocaleString();
}

/** `curl → example.com:443 (connect; rule …) · 1.2 kB ↑ 5.0 kB ↓ · 120 ms`. */
export function networkText(a: NetworkAccess): string {
  const who = a.program ? `${a.program} → ` : "";
  const by = a.source ? ` by ${a.source}` : "";
  const traffic =
    a.decision === "allow" && !a.error
      ? ` · ${bytes(a.bytesUp)} ↑ ${bytes(a.bytesDown)} ↓ · ${a.durationMs} ms`
      : "";
  const error = a.error ? ` — ${a.error}` : "";
  const from = a.command ? ` · from \`${a.command}\`` : "";
  return `${who}${a.host}:${a.port} (${a.protocol}; ${a.reason}${by})${traffic}${error}${from}`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** The heading over a turn's events: a turn opens with a user prompt. */
export function turnHeading(turn: number): string {
  return turn === 0 ? "Before the first prompt" : `Turn ${turn}`;
}
