// The session on screen and its transcript, fed by the live event stream.
import type { Event, GetTimelineResponse } from "../generated/protocol";
import { platform } from "../platform";
import { applyEvent, emptyTranscript, type Transcript } from "./transcript";

export const live: { sessionId: string | null; transcript: Transcript } = $state({
  sessionId: null,
  transcript: emptyTranscript(),
});

export function onEvent(event: Event) {
  if (event.sessionId === live.sessionId) applyEvent(live.transcript, event);
}

/** Catch up from the audit store (after missed live events, or when reopening a session). */
export async function reload(sessionId: string) {
  const transcript = emptyTranscript();
  let afterSeq: number | undefined = undefined;
  for (;;) {
    const page: GetTimelineResponse = await platform.call("get_timeline", { sessionId, afterSeq });
    page.events.forEach((e: Event) => applyEvent(transcript, e));
    if (page.nextCursor === null) break;
    afterSeq = page.nextCursor;
  }
  live.sessionId = sessionId;
  live.transcript = transcript;
}

export function show(sessionId: string) {
  live.sessionId = sessionId;
  live.transcript = emptyTranscript();
}
