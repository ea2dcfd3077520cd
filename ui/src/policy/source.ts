import type { PolicySource } from "../generated/protocol";

/** "admin requirement /etc/warden/requirements.toml", as the CLI prints it. */
export function describeSource(source: PolicySource): string {
  switch (source.type) {
    case "builtIn":
      return "built-in default";
    case "sessionFlag":
      return "session flag";
    case "sessionApproval":
      return "approval for this session";
    case "autoReview":
      return "auto-review";
    case "managedConfig":
      return `managed config ${source.path}`;
    case "userConfig":
      return `user config ${source.path}`;
    case "projectConfig":
      return `project config ${source.path}`;
    case "userRules":
      return `user rules ${source.path}`;
    case "projectRules":
      return `project rules ${source.path}`;
    case "requirement":
      return `admin requirement ${source.path}`;
  }
}
