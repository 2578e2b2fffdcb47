/**
 * The notification jobs (added by projections/56_notification_jobs.sql in the event's
 * transaction). Each records what it did on the request's stream; each checks the log
 * first, so a job that runs twice (a killed worker, a retry) never posts a message twice
 * once its id is recorded, and updates each message at most once.
 *
 * A job reads the request and its notification state in one statement and records each
 * outcome in one more (notification-store.ts); the rest of its time is the channel's API.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Task } from 'graphile-worker';
import type { Sql } from '../db/connect.ts';
import { newId } from '../ids.ts';
import type { ApprovalRequest } from '../requests/schemas.ts';
import { planDestinations, type GroupMember } from './destinations.ts';
import { earlierPost } from './earlier-post.ts';
import type { RecipientLink } from './notification-decider.ts';
import { loadNotification, recordNotification } from './notification-store.ts';
import { enabledChannels, type Channels } from './registry.ts';
import { dashboardUrl } from './render.ts';
import type { Destination, PostedMessage, RequestView } from './types.ts';

/** Emailed links live as long as the request, and a week at most. */
const EMAIL_LINK_TTL_MS = 7 * 86_400_000;

export const requestView = (channels: Channels, request: ApprovalRequest, links?: RequestView['links']): RequestView => ({
  request, dashboardUrl: dashboardUrl(channels.baseUrl, request.id), ...(links ? { links } : {}),
});

async function groupMembers(sql: Sql, specs: readonly string[]): Promise<GroupMember[]> {
  const groups = specs.filter((s) => s.startsWith('group:')).map((s) => s.slice('group:'.length));
  if (groups.length === 0) return [];
  return sql<GroupMember[]>`
    select id, email, slack_user_id as "slackUserId", discord_user_id as "discordUserId",
      preferred_channel as "preferredChannel", groups
    from reviewers where deleted_at is null and not disabled and groups && ${groups}::text[] order by id`;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 500);

/** Plans where a routed request is announced, once. */
export const notifyRequest = (sql: Sql, channels: Channels): Task => async (payload) => {
  const { requestId } = payload as { requestId: string };
  const loaded = await loadNotification(sql, requestId);
  if (!loaded || loaded.request.status !== 'pending' || loaded.state.planned) return; // over before anyone needed telling, or planned
  const specs = loaded.request.policyDecision?.channels ?? [];
  const plan = planDestinations(specs, channels.defaults, await groupMembers(sql, specs), enabledChannels(channels));
  await recordNotification(sql, loaded, { type: 'plan', plan });
};

/**
 * Posts one destination's message, unless the log already holds its id. Where the channel
 * can find its own messages, a retry first adopts the message an earlier attempt got through
 * (earlier-post.ts), and each attempt is recorded before it posts.
 */
export const postNotification = (sql: Sql, channels: Channels): Task => async (payload, helpers) => {
  const { requestId, destination } = payload as { requestId: string; destination: Destination };
  let loaded = await loadNotification(sql, requestId);
  if (!loaded || loaded.state.messages[destination.key]?.posted || loaded.request.status !== 'pending') return;
  const adapter = channels.adapters[destination.channel];
  if (!adapter) {
    // Switched off since the plan: record why, and do not retry.
    await recordNotification(sql, loaded, { type: 'record_failure', destination, attempt: helpers.job.attempts, error: `${destination.channel} is not configured`, stage: 'post' });
    return;
  }
  const link = destination.channel === 'email' ? recipientLink(loaded.request, destination.target) : null;
  if (link) loaded = await recordNotification(sql, loaded, { type: 'issue_recipient_link', link: link.record });
  const view = requestView(channels, loaded.request, link ? {
    approve: `${channels.baseUrl}/decide?token=${link.tokens.approve}`, deny: `${channels.baseUrl}/decide?token=${link.tokens.deny}`,
  } : undefined);
  let posted: PostedMessage;
  try {
    const adopted = await earlierPost(adapter, view, destination, loaded.state.messages[destination.key]?.attempts ?? [], helpers.logger);
    if (adopted) {
      await recordNotification(sql, loaded, { type: 'record_posted', destination, posted: adopted, adopted: true });
      return;
    }
    if (adapter.findPosted) {
      loaded = await recordNotification(sql, loaded, {
        type: 'record_attempt', destination, attempt: helpers.job.attempts, startedAt: new Date().toISOString(),
      });
      if (loaded.state.messages[destination.key]?.posted) return; // posted meanwhile by another run
    }
    posted = await adapter.post(view, destination);
  } catch (err) {
    await recordNotification(sql, loaded, { type: 'record_failure', destination, attempt: helpers.job.attempts, error: errorText(err), stage: 'post' });
    throw err; // graphile-worker retries with backoff
  }
  // The message exists now: a failure to record it is not the post's, and is not recorded as one.
  await recordNotification(sql, loaded, { type: 'record_posted', destination, posted });
};

/** Shows the outcome on one posted message and removes its buttons, once. */
export const updateNotification = (sql: Sql, channels: Channels): Task => async (payload, helpers) => {
  const { requestId, key } = payload as { requestId: string; key: string };
  const loaded = await loadNotification(sql, requestId);
  const message = loaded?.state.messages[key];
  if (!loaded || !message?.posted || message.updated || loaded.request.status === 'pending') return;
  const adapter = channels.adapters[message.destination.channel];
  if (!adapter?.update) return;
  try {
    await adapter.update(requestView(channels, loaded.request), message.destination, message.posted);
  } catch (err) {
    await recordNotification(sql, loaded, { type: 'record_failure', destination: message.destination, attempt: helpers.job.attempts, error: errorText(err), stage: 'update' });
    throw err;
  }
  await recordNotification(sql, loaded, { type: 'record_updated', key, status: loaded.request.status });
};

/** A fresh pair of one-use tokens for one recipient; only their hashes are recorded. */
function recipientLink(request: ApprovalRequest, recipient: string) {
  const approve = randomBytes(32).toString('base64url');
  const deny = randomBytes(32).toString('base64url');
  const hash = (t: string) => createHash('sha256').update(t, 'utf8').digest('hex');
  const cap = Date.now() + EMAIL_LINK_TTL_MS;
  const expiresAt = new Date(request.expiresAt ? Math.min(Date.parse(request.expiresAt), cap) : cap).toISOString();
  const record: RecipientLink = { linkId: newId('link'), recipient, approveTokenHash: hash(approve), denyTokenHash: hash(deny), expiresAt };
  return { tokens: { approve, deny }, record };
}

export const notificationTasks = (sql: Sql, channels: Channels) => ({
  notify_request: notifyRequest(sql, channels),
  post_notification: postNotification(sql, channels),
  update_notification: updateNotification(sql, channels),
});
