// The Insights view's figures as one CSV file: a row per figure, with the section it
// belongs to, so a spreadsheet can filter and chart them again.
import type { InsightsResponse } from "../generated/protocol";

/** One field, quoted when it holds a comma, a quote or a line break (RFC 4180). */
export function field(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Every figure as `section,name,detail,value` rows, header first. */
export function insightsCsv(f: InsightsResponse): string {
  const rows: (string | number)[][] = [["section", "name", "detail", "value"]];
  rows.push(["period", "from", "", f.from], ["period", "to", "", f.to]);
  rows.push(["sessions", "total", "", f.sessions]);
  for (const d of f.sessionsPerDay) rows.push(["sessions per day", d.day, "", d.sessions]);
  for (const w of f.workspaces) rows.push(["workspaces", w.name, "", w.n]);
  for (const t of f.tools) rows.push(["tool calls", t.name, "", t.n]);
  for (const m of f.mcpTools) rows.push(["mcp tool calls", m.server, m.tool, m.n]);
  for (const d of f.decisions) rows.push(["decisions", d.outcome, d.by, d.n]);
  rows.push(["decisions", "total", "", f.decided], ["decisions", "by a person", "", f.byPerson]);
  if (f.medianAnswerMs !== undefined) {
    rows.push(["decisions", "median answer ms", "", f.medianAnswerMs]);
  }
  for (const h of f.network) {
    rows.push(["network", h.host, "allowed", h.allowed]);
    rows.push(["network", h.host, "refused", h.refused]);
    rows.push(["network", h.host, "asked", h.asked]);
  }
  for (const d of f.denials) rows.push(["sandbox denials", d.operation, d.layer, d.n]);
  for (const [name, value] of Object.entries(f.review)) rows.push(["auto-review", name, "", value]);
  for (const s of f.suggestions) rows.push(["suggestions", s.kind, s.subject, s.count]);
  return rows.map((r) => r.map(field).join(",")).join("\r\n") + "\r\n";
}
