// How long an unanswered question still waits, in words for the approval card.

/** "Refused in 42 s without an answer", or that the time is up. */
export function expiryText(expiresAt: number, now: number): string {
  const seconds = Math.ceil((expiresAt - now) / 1000);
  return seconds > 0
    ? `Refused in ${seconds} s without an answer`
    : "No answer in time: the connection is refused";
}
