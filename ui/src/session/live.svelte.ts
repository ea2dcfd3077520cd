// The session on screen and its transcript, fed by the live event stream.
import type { Event, GetTimelineResponse } from "../generated/protocol";
import { platform } from "../platform";
import { applyEvent, emptyTranscript, type Transcript } from "./transcript";

export const live: {
  sessionId: string | null;
  transcript: Transcript;
  /** The waiting question to bring forward (a notification was clicked). */
  spotlight: string | null;
} = $state({
  sessionId: null,
  transcript: emptyTranscript(),
  spotlight: null,
});

export function onEvent(event: Event) {
  if (event.sessionId === live.sessionId) applyEvent(live.transcript, event);
}

/** Rebuild from the audit store (after missed live events). */
export async function reload(sessionId: string) {
  const transcript = emptyTranscript();
  await readInto(transcript, sessionId);
  live.sessionId = sessionId;
  live.transcript = transcript;
}

/** Add what the store has beyond the live stream (events recorded before we listened). */
export async function catchUp(sessionId: string) {
  await readInto(live.transcript, sessionId);
}

async function readInto(transcript: Transcript, sessionId: string) {
  let afterSeq: number | undefined = undefined;
  for (;;) {
    const page: GetTimelineResponse = await platform.call("get_timeline", { sessionId, afterSeq });
    page.events.forEach((e: Event) => applyEvent(transcript, e));
    if (page.nextCursor === null) break;
    afterSeq = page.nextCursor;
  }
}

export function show(sessionId: string) {
  live.sessionId = sessionId;
  live.transcript = emptyTranscript();
  live.spotlight = null;
}

/** Bring up a waiting question's card: its session on screen, the card in view. */
export async function spotlight(sessionId: string, callId: string) {
  if (live.sessionId !== sessionId) await reload(sessionId);
  live.spotlight = callId;
}
