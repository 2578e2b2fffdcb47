/**
 * The window between a channel taking a message and the job recording its id: a worker that
 * dies there leaves a retry that would post the message a second time. Where a channel can
 * find its own messages (ChannelAdapter.findPosted), each attempt is recorded before it posts,
 * and a retry that follows an attempt looks for that attempt's message and adopts it.
 */
import type { Logger } from 'graphile-worker';
import type { ChannelAdapter, Destination, PostedMessage, RequestView } from './types.ts';

/** The channel cannot be searched for the message (not allowed, or not where it can look). */
export class LookupUnavailable extends Error {
  override name = 'LookupUnavailable';
}

/**
 * The message an earlier recorded attempt got through, or null: no earlier attempt, nothing
 * found, or no way to look (logged; the retry then posts, which may leave a second message).
 * Any other failure (the channel's API down) throws, and the job retries.
 */
export async function earlierPost(
  adapter: ChannelAdapter, view: RequestView, destination: Destination, attempts: readonly string[], logger: Logger,
): Promise<PostedMessage | null> {
  if (!adapter.findPosted || attempts.length === 0) return null;
  try {
    return await adapter.findPosted(view, destination, { first: new Date(attempts[0]!), last: new Date(attempts.at(-1)!) });
  } catch (err) {
    if (!(err instanceof LookupUnavailable)) throw err;
    logger.warn(`could not look for the message an earlier attempt may have posted to ${destination.key} `
      + `for ${view.request.id}: ${err.message}; posting again, which may leave a second message`,
    { requestId: view.request.id, destination: destination.key, reason: err.message });
    return null;
  }
}
