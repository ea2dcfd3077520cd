import { describe, expect, it } from "vitest";
import type { InsightsResponse } from "../generated/protocol";
import { field, insightsCsv } from "./csv";

/** A minimal RFC 4180 reader, to read back what was written. */
function parse(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += c;
  }
  return rows;
}

const figures: InsightsResponse = {
  from: "2026-12-01",
  to: "2026-12-07",
  sessions: 3,
  sessionsPerDay: [{ day: "2026-12-07", sessions: 3 }],
  workspaces: [{ name: '/home/dev/a "quoted", folder', n: 3 }],
  tools: [{ name: "shell", n: 4 }],
  mcpTools: [{ server: "docs", tool: "search", n: 2 }],
  decisions: [{ outcome: "allow", by: "user", n: 3 }],
  decided: 4,
  byPerson: 3,
  medianAnswerMs: 600,
  network: [{ host: "pypi.org", allowed: 2, refused: 1, asked: 1 }],
  topRefusedHosts: [],
  topAskedHosts: [],
  denials: [{ operation: "write", layer: "landlock", n: 1 }],
  review: {
    reviews: 1,
    approvals: 1,
    escalations: 0,
    denials: 0,
    unavailable: 0,
    tokensIn: 10,
    tokensOut: 2,
  },
  suggestions: [
    {
      kind: "allowCommand",
      subject: "echo a,b\nc",
      title: "t",
      count: 3,
      canApply: true,
    },
  ],
};

describe("insights CSV", () => {
  it("reads back field for field, whatever the text holds", () => {
    for (const text of ["plain", 'a "q"', "a,b", "line\nbreak", "cr\r\nlf", "", "é ✓"]) {
      expect(parse(field(text) + "\r\n")).toEqual([[text]]);
    }
  });

  it("holds every figure under its section", () => {
    const rows = parse(insightsCsv(figures));
    expect(rows[0]).toEqual(["section", "name", "detail", "value"]);
    expect(rows.every((r) => r.length === 4)).toBe(true);
    expect(rows).toContainEqual(["workspaces", '/home/dev/a "quoted", folder', "", "3"]);
    expect(rows).toContainEqual(["decisions", "median answer ms", "", "600"]);
    expect(rows).toContainEqual(["network", "pypi.org", "refused", "1"]);
    expect(rows).toContainEqual(["suggestions", "allowCommand", "echo a,b\nc", "3"]);
    expect(rows).toContainEqual(["auto-review", "tokensIn", "", "10"]);
  });
});
