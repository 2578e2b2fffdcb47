/**
 * Decisions this tab has sent. The live stream echoes every decision, this tab's own too;
 * the echo of one sent here is no news to the reviewer who just made it, so it is not
 * announced a second time (nor listed among the requests "decided elsewhere").
 * Marked before the call goes out, because the echo can arrive before the answer does.
 */
const sent = new Map<string, ReturnType<typeof setTimeout>>();
/** Long enough for any echo to arrive; short enough that the set stays small. */
const FORGET_AFTER_MS = 5 * 60_000;

export function markSentHere(requestId: string): void {
  clearTimeout(sent.get(requestId));
  sent.set(requestId, setTimeout(() => sent.delete(requestId), FORGET_AFTER_MS));
}

/** The call failed: nothing was decided here, so a decision heard later is someone else's. */
export function unmarkSentHere(requestId: string): void {
  clearTimeout(sent.get(requestId));
  sent.delete(requestId);
}

export function sentHere(requestId: string): boolean {
  return sent.has(requestId);
}
