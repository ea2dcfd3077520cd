// "Triage this" from an Audit row: the recorded event written as the generic (ECS) alert
// an endpoint tool would have raised about it, so a person can ask why it happened.
import type { Event } from "../generated/protocol";

const iso = (ms: number) => new Date(ms).toISOString();

/** The ECS alert for an event, or null for kinds an endpoint tool would not see. */
export function alertFrom(event: Event): Record<string, unknown> | null {
  const at = { "@timestamp": iso(event.createdAt) };
  const msg = event.msg;
  switch (msg.type) {
    case "networkAccess":
      return {
        ...at,
        "rule.name": `Connection to ${msg.access.host}:${msg.access.port}`,
        "destination.domain": msg.access.host,
        ...(msg.access.address ? { "destination.ip": msg.access.address } : {}),
        "destination.port": msg.access.port,
        ...(msg.access.command ? { "process.command_line": msg.access.command } : {}),
      };
    case "processStarted":
      return {
        ...at,
        "rule.name": `Process ${msg.pid}`,
        "process.pid": msg.pid,
        "process.executable": msg.executable,
        "process.command_line": msg.commandLine,
        "process.start": iso(msg.startedAt),
        "process.parent.pid": msg.parentPid,
      };
    case "toolCallProposed":
      return msg.tool === "shell"
        ? { ...at, "rule.name": "Command", "process.command_line": msg.summary }
        : null;
    case "commandStarted":
      return { ...at, "rule.name": "Command", "process.command_line": msg.command };
    case "sandboxDenied":
      return {
        ...at,
        "rule.name": `Refused ${msg.denial.operation}`,
        "file.path": msg.denial.target,
      };
    default:
      return null;
  }
}
