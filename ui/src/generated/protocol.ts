// Generated from crates/warden-protocol by `UPDATE_BINDINGS=1 cargo test -p warden-protocol`.
// Do not edit by hand.

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;

export type SandboxMode = "read-only" | "workspace-write" | "full-access";

export type ApprovalPolicy = "untrusted" | "on-request" | "never";

export type Verdict = "allow" | "prompt" | "forbidden";

export type DecisionOutcome = "allow" | "prompt" | "forbid";

export type PolicySource = { "type": "builtIn" } | { "type": "managedConfig", path: string, } | { "type": "userConfig", path: string, } | { "type": "projectConfig", path: string, } | { "type": "userRules", path: string, } | { "type": "projectRules", path: string, } | { "type": "requirement", path: string, } | { "type": "sessionFlag" } | { "type": "sessionApproval" } | { "type": "autoReview" };

export type Reason = { rule: string, source: PolicySource, justification: string, };

export type Actor = "rule" | "requirement" | "user" | "default" | "session-cache" | "auto-review";

export type ReviewOutcome = "approve" | "ask" | "deny";

export type ReviewRisk = "low" | "medium" | "high" | "critical";

export type UserAuthorized = "yes" | "no" | "unclear";

export type ReviewTier = "rules" | "model";

export type ReviewerNote = { model: string, outcome?: ReviewOutcome, risk?: ReviewRisk, rationale?: string, 
/**
 * Why there is no verdict (`timeout after 20 s`): never a risk verdict.
 */
unavailable?: string, };

export type Op = { "type": "userTurn", text: string, } | { "type": "approval", callId: string, decision: ReviewDecision, 
/**
 * Sent back to the model with a denial.
 */
message?: string, } | { "type": "interrupt" } | { "type": "shutdown" };

export type ReviewDecision = "approve-once" | "approve-for-session" | "approve-always" | "deny" | "abort";

export type OutputStream = "stdout" | "stderr";

export type SandboxDenial = { 
/**
 * `write`, `read`, `network`, …
 */
operation: string, 
/**
 * The path or address involved.
 */
target: string, 
/**
 * The layer that blocked it, e.g. `landlock` or `seccomp`.
 */
layer: string, 
/**
 * A one-line human explanation.
 */
detail: string, };

export type NetworkAccess = { host: string, port: number, 
/**
 * `http` (forwarded request), `connect` (tunnel) or `socks5`.
 */
protocol: string, 
/**
 * `allow` or `deny`.
 */
decision: string, 
/**
 * For a denial the block reason sent to the client (`denylist`, `not-allowed`,
 * `private-address`, `sni-mismatch`, `timeout`, `no-credential`); for an allowed
 * connection what allowed it (`rule`, `session`, `user`, `auto-review`).
 */
reason: string, 
/**
 * The rule or setting that decided (`user rules /…/default.rules:3`), if one did.
 */
source?: string, 
/**
 * Who decided.
 */
actor: Actor, 
/**
 * The address connected to (or refused), once resolved.
 */
address?: string, 
/**
 * The program that connected (`curl`), when known.
 */
program?: string, 
/**
 * The sandboxed command it belongs to (`npm install`).
 */
command?: string, 
/**
 * What went wrong after the decision (`cannot resolve`, `connection refused`).
 */
error?: string, bytesUp: number, bytesDown: number, durationMs: number, };

export type SessionIdentity = { hostname: string, 
/**
 * The OS user name.
 */
user: string, uid: number, };

export type TriageVerdict = "expected_agent_behavior" | "benign_mistake" | "needs_escalation" | "insufficient_evidence";

export type TriageAnalysis = "model" | "rules";

export type AlertSummary = { 
/**
 * `ecs`, `falco`, `osquery` or `crowdstrike`.
 */
format: string, rule?: string, 
/**
 * As the alert says it (`high`, `Critical`, `4`).
 */
severity?: string, 
/**
 * When it happened (ms since the epoch).
 */
at?: number, host?: string, user?: string, pid?: number, parentPid?: number, executable?: string, commandLine?: string, filePath?: string, 
/**
 * `host:port` or `address:port`.
 */
destination?: string, };

export type TriageMatch = { sessionId: string, 
/**
 * The matching events' sequence numbers in that session.
 */
events: Array<number>, 
/**
 * 0 to 1.
 */
score: number, why: Array<string>, };

export type EvidenceRef = { sessionId: string, seq: number, why: string, };

export type TriageReport = { alert: AlertSummary, verdict: TriageVerdict, 
/**
 * 0 to 1.
 */
confidence: number, analysis: TriageAnalysis, 
/**
 * The triage model, when it answered.
 */
model?: string, 
/**
 * Why the rules decided instead of the model (none configured, a timeout, an invalid
 * answer).
 */
modelUnavailable?: string, summary: string, matches: Array<TriageMatch>, evidence: Array<EvidenceRef>, counterEvidence: Array<string>, unknowns: Array<string>, nextSteps: Array<string>, };

export type EventMsg = { "type": "sessionStarted", cwd: string, sandbox: SandboxMode, approval: ApprovalPolicy, model: string, wireApi: string, 
/**
 * Absent from sessions recorded before it was added.
 */
policy: SessionPolicy, 
/**
 * The host and OS user it ran as (absent from older sessions).
 */
identity?: SessionIdentity, } | { "type": "userPrompt", text: string, } | { "type": "reasoningDelta", delta: string, } | { "type": "messageDelta", delta: string, } | { "type": "modelTurn", text: string, reasoning: string, toolCalls: number, } | { "type": "toolCallProposed", callId: string, tool: string, 
/**
 * The command line for `shell`, a path for file tools, a summary for patches.
 */
summary: string, cwd: string, arguments: JsonValue, } | { "type": "decision", callId: string, verdict: Verdict, actor: Actor, reasons: Array<Reason>, } | { "type": "approvalRequested", callId: string, tool: string, summary: string, cwd: string, 
/**
 * Why this needs approval.
 */
reason: string, 
/**
 * The command's risk score and why (`high: rewrites history`), for commands.
 */
risk?: string, 
/**
 * Whether "always allow" may be offered (admin requirements can forbid it).
 */
canAlways: boolean, 
/**
 * When an unanswered question is refused (milliseconds since the Unix epoch):
 * network questions wait `network.ask_timeout_secs`, commands wait for ever.
 */
expiresAt?: number, 
/**
 * What auto-review's reviewer model said of it (its verdict, or why it could
 * not answer), when it was asked.
 */
review?: ReviewerNote, 
/**
 * What an MCP server says of its tool (`read-only`, `destructive`, …): its own
 * claims, shown as such; they never change the decision.
 */
hints?: Array<string>, } | { "type": "autoReview", callId: string, tier: ReviewTier, 
/**
 * `shell`, `network`, `mcp` or `patch`.
 */
kind: string, 
/**
 * The action in one line (`shell: npm test`).
 */
summary: string, 
/**
 * The action exactly as the reviewer saw it.
 */
action: JsonValue, 
/**
 * The reviewer model (absent for the rules tier).
 */
model?: string, outcome?: ReviewOutcome, risk?: ReviewRisk, userAuthorized?: UserAuthorized, rationale?: string, 
/**
 * Why the reviewer could not answer (`timeout after 20 s`).
 */
unavailable?: string, latencyMs: number, tokensIn: number, tokensOut: number, 
/**
 * Answered from the session's cache of verdicts (no request made).
 */
cached: boolean, } | { "type": "approvalAnswered", callId: string, decision: ReviewDecision, actor: Actor, message?: string, } | { "type": "outputDelta", callId: string, stream: OutputStream, chunk: string, } | { "type": "toolResult", callId: string, success: boolean, exitCode?: number, durationMs: number, 
/**
 * The output as the model sees it (capped).
 */
output: string, } | { "type": "sandboxDenied", callId: string, denial: SandboxDenial, } | { "type": "networkAccess", 
/**
 * The tool call whose command connected.
 */
callId?: string, access: NetworkAccess, } | { "type": "mcpServerStarted", server: string, 
/**
 * The command line it runs as.
 */
command: string, 
/**
 * Its tools, as the model sees them (`mcp__SERVER__TOOL`).
 */
tools: Array<string>, 
/**
 * Why it is not available.
 */
error?: string, } | { "type": "mcpCall", callId: string, server: string, tool: string, arguments: JsonValue, 
/**
 * The server reported an error, or never answered.
 */
isError: boolean, durationMs: number, 
/**
 * The server's answer as text (capped), or why there is none.
 */
result: string, } | { "type": "processStarted", callId: string, pid: number, 
/**
 * Milliseconds since the epoch.
 */
startedAt: number, executable: string, commandLine: string, parentPid: number, parentExecutable: string, } | { "type": "triageReport", report: TriageReport, } | { "type": "commandStarted", callId: string, 
/**
 * The command line, shell-quoted.
 */
command: string, cwd: string, sandbox: SandboxMode, 
/**
 * `proxy` (through the egress proxy) or `deny`.
 */
network: string, } | { "type": "credentialChanged", change: CredentialChange, credential: CredentialState, } | { "type": "configChanged", 
/**
 * The approval that caused it.
 */
callId?: string, 
/**
 * The file written.
 */
file: string, 
/**
 * What was added, as written (`prefix_rule(pattern = ["git", "status"], …)`).
 */
change: string, actor: Actor, 
/**
 * Why the change could not be made; the answer then held for this session only.
 */
error?: string, } | { "type": "error", code: string, message: string, } | { "type": "turnComplete", lastMessage?: string, } | { "type": "turnAborted", reason: string, } | { "type": "sessionEnded", reason: string, };

export type Event = { sessionId: string, seq: number | null, createdAt: number, 
/**
 * The turn it belongs to, as the audit store numbers them: how many user prompts the
 * session had up to and including this event (0 before the first). Present on events
 * read from the store.
 */
turn?: number, msg: EventMsg, };

export type WireApi = "responses" | "chat";

export type ApiKeySource = "keyring" | "environment" | "none";

export type ErrorCode = "config_read" | "config_write" | "config_parse" | "config_override" | "config_invalid" | "config_no_home" | "rules_invalid" | "rules_unsupported" | "requirements_invalid" | "requirement_refused" | "bundle_fetch" | "sandbox_unsupported" | "sandbox_landlock" | "sandbox_seccomp" | "sandbox_writable_root" | "sandbox_weaker" | "sandbox_spawn" | "proxy_config" | "audit_open" | "audit_corrupt" | "audit_query" | "audit_decode" | "audit_unknown_session" | "audit_write" | "audit_writer_stopped" | "audit_busy" | "audit_witness" | "audit_exporter" | "redacted" | "model_client" | "model_unreachable" | "model_unauthorized" | "model_not_found" | "model_rate_limited" | "model_server_error" | "model_rejected" | "model_bad_response" | "model_stream" | "model_reported_error" | "keyring" | "workspace_missing" | "session_not_running" | "settings_invalid" | "settings_overridden" | "sign_in_failed" | "command_empty" | "alert_invalid" | "period_invalid" | "suggestion_invalid" | "export_failed" | "project_not_trusted" | "bad_params" | "unknown_method" | "internal" | "bad_host" | "bad_origin" | "unauthorized" | "bad_json" | "transport" | "unreachable" | "task_missing";

export type ApiError = { code: ErrorCode, message: string, };

export type StartSessionParams = { 
/**
 * The workspace folder; must exist.
 */
cwd: string, sandbox?: SandboxMode, approval?: ApprovalPolicy, };

export type StartSessionResponse = { sessionId: string, };

export type SubmitOpParams = { sessionId: string, op: Op, };

export type OkResponse = Record<symbol, never>;

export type ListSessionsParams = { 
/**
 * Opaque cursor from a previous page.
 */
cursor?: string, limit?: number, };

export type SessionSummary = { sessionId: string, cwd: string, 
/**
 * The first user prompt, if any.
 */
title: string, createdAt: number, endedAt: number | null, eventCount: number, 
/**
 * True while the session runs in this process.
 */
live: boolean, };

export type ListSessionsResponse = { sessions: Array<SessionSummary>, nextCursor: string | null, };

export type GetTimelineParams = { sessionId: string, 
/**
 * Return events with `seq` greater than this.
 */
afterSeq?: number, limit?: number, };

export type GetTimelineResponse = { events: Array<Event>, 
/**
 * Pass as `afterSeq` for the next page; absent on the last page.
 */
nextCursor: number | null, };

export type GetSettingsParams = Record<symbol, never>;

export type TelemetryStatus = { 
/**
 * False when no collector endpoint is configured.
 */
enabled: boolean, endpoint: string, protocol: string, 
/**
 * `off`, `starting`, `connected` or `retrying`.
 */
state: string, 
/**
 * Events recorded but not yet acknowledged by the collector.
 */
backlog: number, exported: number, lastError: string | null, backlogWarning: boolean, 
/**
 * Most events that may wait (`telemetry.backlog_cap`; 0: no cap).
 */
backlogCap: number, 
/**
 * Events never sent because the backlog passed its cap; they remain in the store.
 */
skipped: number, };

export type AutoReviewMode = "off" | "rules" | "model";

export type ReviewSpend = { 
/**
 * Reviews asked of the reviewer model (cached answers not counted).
 */
reviews: number, tokensIn: number, tokensOut: number, };

export type LockedSetting = { key: string, 
/**
 * The requirement's file.
 */
source: string, };

export type AutoReviewSettings = { mode: AutoReviewMode, escalations: boolean, 
/**
 * The reviewer's endpoint, model and wire API: unset is the session model's.
 */
baseUrl?: string, model?: string, wireApi?: WireApi, 
/**
 * Whether the reviewer has its own key in the keyring (otherwise it uses the
 * session model's key).
 */
ownKey: boolean, timeoutSecs: number, maxReviews: number, maxTokens: number, contextTokens: number, 
/**
 * Settings an admin requirement fixes (`auto_review.mode`), each with its source:
 * the view shows them read-only.
 */
locked: Array<LockedSetting>, 
/**
 * What reviewers spent over the last 30 days, from the audit store.
 */
spent30Days: ReviewSpend, };

export type TriageSettings = { 
/**
 * `model` (the triage model, the rules when it fails) or `rules`.
 */
analysis: string, 
/**
 * The triage model's endpoint, model and wire API: unset is the session model's.
 */
baseUrl?: string, model?: string, wireApi?: WireApi, 
/**
 * Whether the triage model has its own key in the keyring.
 */
ownKey: boolean, timeoutSecs: number, windowMinutes: number, };

export type SaveTriageParams = { 
/**
 * `model` or `rules`.
 */
analysis?: string, 
/**
 * Empty clears it (the session model's is used).
 */
baseUrl?: string, model?: string, wireApi?: WireApi, 
/**
 * A key for the triage model alone, stored in the keyring under its own entry.
 */
apiKey?: string, timeoutSecs?: number, windowMinutes?: number, };

export type SaveAutoReviewParams = { mode?: AutoReviewMode, escalations?: boolean, 
/**
 * Empty clears it (the session model's is used).
 */
baseUrl?: string, model?: string, wireApi?: WireApi, 
/**
 * A key for the reviewer alone, stored in the keyring under its own entry.
 */
apiKey?: string, timeoutSecs?: number, maxReviews?: number, maxTokens?: number, };

export type ReviewActionParams = { 
/**
 * The action in the corpus format (`{"kind": "shell", "argv": […]}`), or a command
 * line typed as plain text.
 */
action: string, 
/**
 * The workspace to review it in; the home folder when absent.
 */
cwd?: string, 
/**
 * What the person asked for, as a session's prompts would say it.
 */
prompt?: string, };

export type ReviewActionResponse = { 
/**
 * `approved` (runs without a person), `asked` (a person decides) or `refused`.
 */
outcome: string, 
/**
 * What settled it: `policy`, `rules`, `model` or `person`.
 */
tier: string, 
/**
 * The action as read.
 */
summary: string, note?: ReviewerNote, 
/**
 * Warden's own reasons (the policy's and the rules tier's).
 */
reasons: Array<string>, tokensIn: number, tokensOut: number, latencyMs: number, };

export type TriageParams = { 
/**
 * The alert as the endpoint tool wrote it: ECS, Falco JSON, an osquery result-log
 * line, or a CrowdStrike detection summary event.
 */
alert: string, 
/**
 * Minutes either side of the alert's time to look in (default 10).
 */
windowMinutes?: number, };

export type TriageResponse = { report: TriageReport, 
/**
 * Where the report is recorded: its own session in the audit store.
 */
reportSessionId: string, 
/**
 * The report as Markdown.
 */
markdown: string, };

export type InsightsParams = { since?: string, until?: string, };

export type Count = { name: string, n: number, };

export type DayCount = { day: string, sessions: number, };

export type McpCount = { server: string, tool: string, n: number, };

export type DecisionCount = { 
/**
 * `allow` or `refuse`.
 */
outcome: string, 
/**
 * `rule`, `requirement`, `user`, `auto-review`, `default`, `session-cache`.
 */
by: string, n: number, };

export type HostCount = { host: string, allowed: number, refused: number, asked: number, };

export type DenialCount = { operation: string, layer: string, n: number, };

export type ReviewFigures = { 
/**
 * Actions auto-review looked at (either tier).
 */
reviews: number, approvals: number, 
/**
 * Put to a person.
 */
escalations: number, denials: number, 
/**
 * The reviewer model could not answer (the question went to a person).
 */
unavailable: number, tokensIn: number, tokensOut: number, };

export type SuggestionKind = "allowCommand" | "allowHost" | "unusedRule" | "refusedHost" | "refusingSession";

export type Suggestion = { kind: SuggestionKind, 
/**
 * What it is about: the command line, the host, the rule's source, the session id.
 */
subject: string, 
/**
 * One line for people.
 */
title: string, 
/**
 * The count behind it (approvals, refusals).
 */
count: number, 
/**
 * The exact rule text applying it writes (allow suggestions).
 */
rule?: string, 
/**
 * Whether applying it is possible here (requirements may forbid user rules).
 */
canApply: boolean, 
/**
 * Why it cannot be applied.
 */
whyNot?: string, };

export type InsightsResponse = { 
/**
 * First and last day (UTC), inclusive.
 */
from: string, to: string, sessions: number, sessionsPerDay: Array<DayCount>, 
/**
 * Workspaces with at least one session, most sessions first.
 */
workspaces: Array<Count>, 
/**
 * Tool calls by tool, most first.
 */
tools: Array<Count>, mcpTools: Array<McpCount>, decisions: Array<DecisionCount>, 
/**
 * Decisions in all, and how many a person made.
 */
decided: number, byPerson: number, 
/**
 * The median time a person took to answer (milliseconds), when anyone answered.
 */
medianAnswerMs?: number, 
/**
 * Network attempts per host, most attempts first.
 */
network: Array<HostCount>, topRefusedHosts: Array<Count>, topAskedHosts: Array<Count>, denials: Array<DenialCount>, review: ReviewFigures, suggestions: Array<Suggestion>, };

export type ApplySuggestionParams = { kind: SuggestionKind, subject: string, };

export type ApplySuggestionResponse = { 
/**
 * The rules file written.
 */
file: string, 
/**
 * The rule as written.
 */
change: string, };

export type SettingsResponse = { baseUrl: string, model: string, wireApi: WireApi, apiKeySource: ApiKeySource, 
/**
 * Why the session model has no credential it may use, when `model.credentials`
 * says so: a key in the environment refused (`keyring`), no sign-in with the
 * identity provider yet (`oauth`). Sessions are refused with the same words.
 */
credentialError?: string, sandbox: SandboxMode, approval: ApprovalPolicy, configPath: string, auditDbPath: string, 
/**
 * What the OS boundary enforces here, in one line.
 */
sandboxStatus: string, telemetry: TelemetryStatus, autoReview: AutoReviewSettings, triage: TriageSettings, };

export type SaveSettingsParams = { baseUrl: string, model: string, wireApi: WireApi, 
/**
 * A new key to store in the OS keyring; absent keeps the current one.
 */
apiKey?: string, };

export type CredentialState = { 
/**
 * What it signs in to: `mcp:NAME` or `model`.
 */
target: string, 
/**
 * The server or identity provider's URL.
 */
url: string, signedIn: boolean, 
/**
 * Who signed in, when the identity provider said (an OpenID Connect ID token's
 * email, preferred username, name or subject; shown, never trusted for a decision).
 */
account?: string, 
/**
 * The authorization server that issued it.
 */
issuer?: string, 
/**
 * The OAuth client Warden signed in as (pre-registered or registered for it).
 */
clientId?: string, scopes: Array<string>, 
/**
 * When the access token expires (ms since the Unix epoch), if the server said.
 */
expiresAt?: number, 
/**
 * Whether it can be renewed without a new sign-in (a refresh token is stored).
 */
refreshable: boolean, 
/**
 * Where it is kept: always the OS keyring.
 */
store: string, 
/**
 * Why the last sign-in started here (Connect) did not complete, until the next one
 * starts: refused by the identity provider, the code not exchanged, nobody back in
 * time.
 */
signInError?: string, };

export type CredentialChange = "signedIn" | "signedOut" | "signInFailed";

export type ListCredentialsParams = Record<symbol, never>;

export type ListCredentialsResponse = { credentials: Array<CredentialState>, };

export type CredentialParams = { target: string, };

export type SignInResponse = { authorizationUrl: string, };

export type TestModelResponse = { model: string, latencyMs: number, 
/**
 * The start of what it answered.
 */
reply: string, };

export type SearchEventsParams = { 
/**
 * Words that must all appear (prompts, commands, hosts, paths, …).
 */
text?: string, sessionId?: string, 
/**
 * Any of these kinds; empty means all.
 */
kinds: Array<string>, actor?: string, 
/**
 * Only decisions that came to this (policy verdicts, network decisions, answers).
 */
decision?: DecisionOutcome, 
/**
 * From (inclusive), epoch milliseconds.
 */
since?: number, 
/**
 * Until (exclusive), epoch milliseconds.
 */
until?: number, cursor?: number, limit?: number, };

export type AuditHit = { 
/**
 * Position in the store (newest is highest).
 */
id: number, event: Event, };

export type SearchEventsResponse = { hits: Array<AuditHit>, nextCursor: number | null, };

export type VerifyAuditParams = Record<symbol, never>;

export type ChainBreak = { sessionId: string, seq: number, reason: string, };

export type VerifyAuditResponse = { intact: boolean, sessions: number, events: number, 
/**
 * Events recorded before the hash chain existed.
 */
unchained: number, brokenAt: ChainBreak | null, 
/**
 * One line, as `warden audit verify` prints it.
 */
summary: string, 
/**
 * Guarantees part of the store lacks (events recorded before an upgrade gave them).
 */
notes: Array<string>, };

export type ExportSessionParams = { sessionId: string, };

export type ExportSessionResponse = { 
/**
 * The JSONL file written (under the data folder's `exports/`).
 */
path: string, events: number, };

export type GetPolicyParams = { 
/**
 * A workspace: a trusted project's config and rules apply.
 */
cwd?: string, };

export type PolicyValue = { key: string, value: JsonValue, source: PolicySource, lockedBy?: PolicySource, };

export type SessionPolicy = { values: Array<PolicyValue>, requirementSources: Array<PolicySource>, ruleFiles: Array<string>, 
/**
 * Loud problems while loading (an ignored requirements file...).
 */
warnings: Array<string>, };

export type PolicyRule = { pattern: string, decision: Verdict, justification?: string, source: PolicySource, };

export type ProjectPolicyStatus = { 
/**
 * The project's folder.
 */
root: string, 
/**
 * Its `.warden/` files are what a person confirmed (and so are applied).
 */
confirmed: boolean, 
/**
 * What changed since (`.warden/config.toml was added`), when not confirmed.
 */
changes: Array<string>, 
/**
 * When the files as they are were confirmed.
 */
confirmedAt?: number, };

export type GetPolicyResponse = { values: Array<PolicyValue>, requirementSources: Array<PolicySource>, rules: Array<PolicyRule>, ruleFiles: Array<string>, 
/**
 * Loud problems (an ignored requirements file...).
 */
warnings: Array<string>, 
/**
 * The trusted project the workspace is in, and whether its `.warden/` policy is as a
 * person last confirmed it (only then is it applied).
 */
project?: ProjectPolicyStatus, };

export type TrustProjectPolicyParams = { 
/**
 * A folder in the project.
 */
cwd: string, };

export type CheckCommandParams = { 
/**
 * A command line as typed (it is parsed as a shell script).
 */
command: string, cwd?: string, };

export type CheckCommandResponse = { verdict: Verdict, reasons: Array<Reason>, 
/**
 * `low` | `medium` | `high` | `critical`.
 */
risk: string, riskReasons: Array<string>, 
/**
 * Every program the command would run, as rules see it.
 */
commands: Array<Array<string>>, 
/**
 * What could not be resolved with confidence.
 */
unresolved: Array<string>, };

/** Every API command: its parameters and response. */
export type ApiMethods = {
  start_session: { params: StartSessionParams; response: StartSessionResponse };
  submit_op: { params: SubmitOpParams; response: OkResponse };
  list_sessions: { params: ListSessionsParams; response: ListSessionsResponse };
  get_timeline: { params: GetTimelineParams; response: GetTimelineResponse };
  get_settings: { params: GetSettingsParams; response: SettingsResponse };
  save_settings: { params: SaveSettingsParams; response: SettingsResponse };
  test_model: { params: SaveSettingsParams; response: TestModelResponse };
  search_events: { params: SearchEventsParams; response: SearchEventsResponse };
  verify_audit: { params: VerifyAuditParams; response: VerifyAuditResponse };
  export_session: { params: ExportSessionParams; response: ExportSessionResponse };
  get_policy: { params: GetPolicyParams; response: GetPolicyResponse };
  trust_project_policy: { params: TrustProjectPolicyParams; response: GetPolicyResponse };
  check_command: { params: CheckCommandParams; response: CheckCommandResponse };
  save_auto_review: { params: SaveAutoReviewParams; response: SettingsResponse };
  review_action: { params: ReviewActionParams; response: ReviewActionResponse };
  triage: { params: TriageParams; response: TriageResponse };
  save_triage: { params: SaveTriageParams; response: SettingsResponse };
  insights: { params: InsightsParams; response: InsightsResponse };
  apply_suggestion: { params: ApplySuggestionParams; response: ApplySuggestionResponse };
  list_credentials: { params: ListCredentialsParams; response: ListCredentialsResponse };
  sign_in: { params: CredentialParams; response: SignInResponse };
  sign_out: { params: CredentialParams; response: CredentialState };
};
