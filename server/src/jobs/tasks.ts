/**
 * The jobs this application runs. Each one is at-least-once (a crashed worker's job runs
 * again) and its effects are recorded as events, so running twice records once.
 */
import type { Task, TaskList } from 'graphile-worker';
import type { Sql } from '../db/connect.ts';
import { expireRequest } from '../requests/commands.ts';
import { sweepExpiredRequests } from '../requests/expiry.ts';
import { WORKER_METADATA, type DeliveryOptions } from '../webhooks/delivery.ts';
import { serveWebhookLine } from '../webhooks/line.ts';
import { notificationTasks } from '../channels/jobs.ts';
import { emptyChannels, type Channels } from '../channels/registry.ts';
import { sendChannelTest } from '../channels/tests.ts';
import { sendSignInLink } from '../sessions/sign-in-links.ts';
import type { LogSink } from './logging.ts';

export interface TaskContext {
  sql: Sql;
  delivery: DeliveryOptions;
  /** Slack, Discord and email, as configured; none when absent. */
  channels?: Channels;
  log?: LogSink;
}

/** A webhook's line of deliveries: every due head, in order, back to back (webhooks/line.ts). */
export const deliverWebhook = (ctx: TaskContext): Task => async (payload, helpers) => {
  const { webhookId } = payload as { webhookId: string };
  const run = await serveWebhookLine(ctx.sql, webhookId, ctx.delivery);
  ctx.log?.debug({ jobId: helpers.job.id, webhookId, ...run }, 'webhook line served');
};

/** Every pending request whose expiresAt has come becomes `expired`; then the next sweep is scheduled. */
export const expireRequestsTask = (ctx: TaskContext): Task => async (payload, helpers) => {
  const { failures } = (payload ?? {}) as { failures?: number };
  const run = await sweepExpiredRequests(ctx.sql, WORKER_METADATA, { ...(failures ? { failures } : {}), ...(ctx.log ? { log: ctx.log } : {}) });
  ctx.log?.debug({ jobId: helpers.job.id, expired: run.expired, failed: run.failed.length, next: run.next }, 'expiry sweep');
};

/**
 * One request's expiry: the job of requests created before expiry was swept (their jobs
 * keyed `expire:<id>` may still be waiting). A pending request whose expiresAt has come
 * becomes `expired`; a decided one stays as it is.
 */
export const expireRequestTask = (ctx: TaskContext): Task => async (payload) => {
  const { requestId } = payload as { requestId: string };
  // The database's clock made this job due, so it is the one the expiry is judged by.
  const [row] = await ctx.sql<{ now: Date }[]>`select now() as now`;
  const result = await expireRequest(ctx.sql, requestId, row!.now, WORKER_METADATA);
  if (!result.expired && result.status === 'pending' && result.expiresAt !== null) {
    // Only possible if expiresAt moved later; graphile-worker's retry tries again.
    throw new Error(`request ${requestId} is not due yet (expires at ${result.expiresAt})`);
  }
};

/** Jobs that talk to databases and webhook receivers, and expiries: the general runner's. */
export const generalTaskList = (ctx: TaskContext): TaskList => ({
  deliver_webhook: deliverWebhook(ctx),
  expire_requests: expireRequestsTask(ctx),
  expire_request: expireRequestTask(ctx),
});

/**
 * Jobs that wait on Slack, Discord and SMTP: the channel runner's, with a concurrency of
 * their own (WORKER_CHANNEL_CONCURRENCY), so a burst of notifications neither waits behind
 * webhook deliveries nor holds them up.
 */
export const channelTaskList = (ctx: TaskContext): TaskList => ({
  ...notificationTasks(ctx.sql, ctx.channels ?? emptyChannels()),
  channel_test: sendChannelTest(ctx.sql, ctx.channels ?? emptyChannels()),
  send_sign_in_link: sendSignInLink(ctx.sql, ctx.channels ?? emptyChannels()),
});
