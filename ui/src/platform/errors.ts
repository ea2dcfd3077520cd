// Every error code the core (or this UI) can produce, and where a person goes to fix it.
// The map's type is the generated union: a code added to the protocol fails the type
// check until it is handled here.
import type { ErrorCode } from "../generated/protocol";

/** Where the fix for an error is: a view to open, the workspace field, or nowhere. */
export type Remedy = "settings" | "workspace" | "policy" | "audit" | "task" | "retry" | "none";

export const REMEDY: Record<ErrorCode, Remedy> = {
  config_read: "policy",
  config_write: "settings",
  config_parse: "policy",
  config_override: "policy",
  config_invalid: "policy",
  config_no_home: "none",
  rules_invalid: "policy",
  rules_unsupported: "none",
  requirements_invalid: "policy",
  requirement_refused: "policy",
  bundle_fetch: "retry",
  sandbox_unsupported: "policy",
  sandbox_landlock: "none",
  sandbox_seccomp: "none",
  sandbox_writable_root: "policy",
  sandbox_weaker: "policy",
  sandbox_spawn: "retry",
  proxy_config: "policy",
  audit_open: "none",
  audit_corrupt: "none",
  audit_query: "retry",
  audit_decode: "audit",
  audit_unknown_session: "audit",
  audit_write: "retry",
  audit_writer_stopped: "none",
  audit_busy: "retry",
  audit_witness: "audit",
  audit_exporter: "settings",
  redacted: "none",
  model_client: "settings",
  model_unreachable: "settings",
  model_unauthorized: "settings",
  model_not_found: "settings",
  model_rate_limited: "retry",
  model_server_error: "retry",
  model_rejected: "settings",
  model_bad_response: "retry",
  model_stream: "retry",
  model_reported_error: "retry",
  keyring: "settings",
  workspace_missing: "workspace",
  session_not_running: "none",
  settings_invalid: "settings",
  settings_overridden: "none",
  sign_in_failed: "settings",
  command_empty: "policy",
  alert_invalid: "none",
  period_invalid: "none",
  suggestion_invalid: "none",
  export_failed: "retry",
  project_not_trusted: "policy",
  bad_params: "none",
  unknown_method: "none",
  internal: "none",
  bad_host: "none",
  bad_origin: "none",
  unauthorized: "none",
  bad_json: "none",
  transport: "retry",
  unreachable: "retry",
  task_missing: "task",
};

/** Whether a code from the wire is one this UI knows. */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(REMEDY, code);
}

/** The words for a remedy's button, where there is one to press. */
export function remedyLabel(remedy: Remedy): string | null {
  switch (remedy) {
    case "settings":
      return "Open Settings";
    case "policy":
      return "Open Policy";
    case "audit":
      return "Open Audit";
    case "retry":
    case "workspace":
    case "task":
    case "none":
      return null;
  }
}
