// The browser adapter for `warden serve`: JSON over HTTP, events over server-sent events.
// The bearer token arrives in the URL fragment (never sent to the server by the browser)
// and is kept in session storage.
import type { Event } from "../generated/protocol";
import { ApiError, type Method, type Params, type Platform, type Response } from "./api";

function token(): string {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    sessionStorage.setItem("warden-token", fromHash);
    history.replaceState(null, "", location.pathname + location.search);
    return fromHash;
  }
  return sessionStorage.getItem("warden-token") ?? "";
}

export function httpPlatform(): Platform {
  const bearer = token();
  const headers = { authorization: `Bearer ${bearer}`, "content-type": "application/json" };
  return {
    name: "browser",
    async call<M extends Method>(method: M, params: Params<M>): Promise<Response<M>> {
      let response: globalThis.Response;
      try {
        response = await fetch(`/api/${method}`, {
          method: "POST",
          headers,
          body: JSON.stringify(params),
        });
      } catch (e) {
        throw new ApiError("unreachable", `Cannot reach warden serve: ${String(e)}`);
      }
      const body = await response.json().catch(() => undefined);
      if (!response.ok) throw ApiError.from(body ?? `HTTP ${response.status}`);
      return body as Response<M>;
    },
    async subscribe(onEvent, onLagged) {
      const abort = new AbortController();
      const response = await fetch("/api/events", { headers, signal: abort.signal });
      if (!response.ok || !response.body) {
        throw ApiError.from(await response.json().catch(() => `HTTP ${response.status}`));
      }
      void readEvents(response.body, onEvent, onLagged).catch(() => onLagged());
      return () => abort.abort();
    },
  };
}

async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: Event) => void,
  onLagged: () => void,
) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const record = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = /^event: (.*)$/m.exec(record)?.[1];
      const data = record
        .split("\n")
        .filter((l) => l.startsWith("data: "))
        .map((l) => l.slice(6))
        .join("\n");
      if (name === "lagged") onLagged();
      else if (data) onEvent(JSON.parse(data) as Event);
    }
  }
}
