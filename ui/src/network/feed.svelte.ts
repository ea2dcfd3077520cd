// Every proxy decision: the recent ones from the audit store, then live ones as they
// are recorded (any session).
import type { Event, NetworkAccess } from "../generated/protocol";
import { platform } from "../platform";

export interface NetworkRow {
  key: string;
  sessionId: string;
  seq: number | null;
  createdAt: number;
  callId?: string;
  access: NetworkAccess;
}

export const feed: { rows: NetworkRow[]; loaded: boolean; error: string | null } = $state({
  rows: [],
  loaded: false,
  error: null,
});

function row(event: Event): NetworkRow | null {
  if (event.msg.type !== "networkAccess") return null;
  return {
    key: `${event.sessionId}:${event.seq}`,
    sessionId: event.sessionId,
    seq: event.seq,
    createdAt: event.createdAt,
    callId: event.msg.callId,
    access: event.msg.access,
  };
}

/** Newest first; a recorded event appears once. */
export function onNetworkEvent(event: Event) {
  const r = row(event);
  if (!r || feed.rows.some((x) => x.key === r.key)) return;
  feed.rows = [r, ...feed.rows];
}

export async function loadRecent(limit = 1000) {
  try {
    const page = await platform.call("search_events", { kinds: ["networkAccess"], limit });
    const recorded = page.hits.map((h) => row(h.event)).filter((r): r is NetworkRow => r !== null);
    const known: Record<string, true> = {};
    for (const r of recorded) known[r.key] = true;
    feed.rows = [...feed.rows.filter((r) => !known[r.key]), ...recorded].sort(
      (a, b) => b.createdAt - a.createdAt,
    );
    feed.error = null;
  } catch (e) {
    feed.error = `${(e as Error).message}`;
  }
  feed.loaded = true;
}

export interface HostCount {
  host: string;
  allowed: number;
  denied: number;
  bytes: number;
  last: number;
}

/** Per-host counts over the rows, busiest first. */
export function perHost(rows: NetworkRow[]): HostCount[] {
  const byHost: Record<string, HostCount> = {};
  for (const r of rows) {
    const host = `${r.access.host}:${r.access.port}`;
    const c = byHost[host] ?? { host, allowed: 0, denied: 0, bytes: 0, last: 0 };
    if (r.access.decision === "allow") c.allowed++;
    else c.denied++;
    c.bytes += r.access.bytesUp + r.access.bytesDown;
    c.last = Math.max(c.last, r.createdAt);
    byHost[host] = c;
  }
  return Object.values(byHost).sort((a, b) => b.allowed + b.denied - (a.allowed + a.denied));
}
