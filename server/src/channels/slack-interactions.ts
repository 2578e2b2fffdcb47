/**
 * Slack, inbound: Bolt with a receiver inside fastify at POST /integrations/slack/events
 * (signature v0 checked on the raw body with SLACK_SIGNING_SECRET, stale timestamps
 * refused), or Socket Mode when SLACK_APP_TOKEN is set (no public URL needed). A click is
 * decided as the reviewer whose Slack user id it carries; Deny (and Approve when the rule
 * wants a reason) asks for the reason in a modal, once the clicker is found to be someone who
 * may decide (anyone else is told why, privately, at the click). The message itself is
 * updated by the update job, once, wherever the request was decided.
 */
import { App, verifySlackRequest, type Receiver, type ReceiverEvent, type BlockButtonAction, type ViewSubmitAction } from '@slack/bolt';
import type { FastifyInstance } from 'fastify';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { clickStep, decideClick, type Decision } from './clicks.ts';
import { reasonModal, SLACK_ACTIONS, SLACK_REASON_VIEW } from './slack-messages.ts';

export interface SlackInteractionSettings {
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  apiUrl?: string;
}

/** Hands fastify's requests to Bolt; the route answers with whatever Bolt acks. */
class FastifyReceiver implements Receiver {
  private app: App | null = null;
  init(app: App) { this.app = app; }
  async start() { return undefined; }
  async stop() { return undefined; }
  dispatch(body: Record<string, unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let acked = false;
      const event: ReceiverEvent = {
        body,
        ack: async (response?: unknown) => {
          if (acked) return;
          acked = true;
          resolve(response);
        },
      };
      this.app!.processEvent(event).then(() => { if (!acked) resolve(undefined); }, reject);
    });
  }
}

/** Registers the handlers every Slack transport shares. */
function wireHandlers(app: App, sql: Sql) {
  const tell = async (client: App['client'], channel: string | undefined, user: string, text: string) => {
    if (channel) await client.chat.postEphemeral({ channel, user, text });
  };

  const onClick = (decision: Decision) => async ({ ack, body, action, client }: {
    ack: () => Promise<void>; body: BlockButtonAction; action: { value?: string }; client: App['client'];
  }) => {
    // Decided before the ack (well inside Slack's 3 seconds), so the answer follows the decision.
    try {
      await handleClick(decision, body, action, client);
    } finally {
      await ack();
    }
  };

  const handleClick = async (decision: Decision, body: BlockButtonAction, action: { value?: string }, client: App['client']) => {
    const requestId = action.value ?? '';
    const user = body.user.id;
    const channel = body.channel?.id;
    const next = await clickStep(sql, requestId, decision, { channel: 'slack', externalId: user });
    if (next.step === 'answer') return tell(client, channel, user, next.text);
    if (next.step === 'ask_reason') {
      await client.views.open({ trigger_id: body.trigger_id, view: reasonModal(next.request, decision, { ...(channel ? { channel } : {}), ts: body.message?.ts }) });
      return;
    }
    const result = await decideClick(sql, { requestId, decision, reason: null, channel: 'slack', externalId: user });
    if (!result.decided) await tell(client, channel, user, result.text);
  };

  app.action(SLACK_ACTIONS.approve, onClick('approved') as never);
  app.action(SLACK_ACTIONS.deny, onClick('denied') as never);
  app.action('agentgate_open', async ({ ack }) => { await ack(); });

  app.view(SLACK_REASON_VIEW, async ({ ack, body, view }) => {
    const meta = JSON.parse(view.private_metadata || '{}') as { requestId: string; decision: Decision; channel?: string };
    const reason = (view.state.values.reason?.reason?.value ?? '').trim() || null;
    const result = await decideClick(sql, {
      requestId: meta.requestId, decision: meta.decision, reason, channel: 'slack', externalId: (body as ViewSubmitAction).user.id,
    });
    // A refusal or a missing reason is shown in the modal itself.
    if (!result.decided) await ack({ response_action: 'errors', errors: { reason: result.text } });
    else await ack();
  });
}

const SIGNATURE_MAX_AGE_MINUTES = 5;

/** POST /integrations/slack/events, with Bolt behind it. */
export async function slackHttpRoutes(app: FastifyInstance, opts: { sql: Sql; settings: SlackInteractionSettings & { signingSecret: string } }) {
  const receiver = new FastifyReceiver();
  const bolt = new App({
    token: opts.settings.botToken,
    receiver,
    ...(opts.settings.apiUrl ? { clientOptions: { slackApiUrl: opts.settings.apiUrl } } : {}),
  });
  wireHandlers(bolt, opts.sql);

  await app.register(async (scope) => {
    // Slack signs the exact bytes it sent: keep them.
    for (const type of ['application/x-www-form-urlencoded', 'application/json']) {
      scope.removeContentTypeParser(type);
      scope.addContentTypeParser(type, { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));
    }
    scope.post('/integrations/slack/events', { config: { scope: null }, schema: { hide: true } }, async (request, reply) => {
      const raw = typeof request.body === 'string' ? request.body : '';
      try {
        verifySlackRequest({
          signingSecret: opts.settings.signingSecret,
          body: raw,
          headers: {
            'x-slack-signature': String(request.headers['x-slack-signature'] ?? ''),
            'x-slack-request-timestamp': Number(request.headers['x-slack-request-timestamp'] ?? 0),
          },
        });
      } catch (err) {
        request.log.warn({ err: (err as Error).message }, 'refused a Slack request with a bad or stale signature');
        throw new AppError('UNAUTHORIZED', `Slack signature check failed (bad signature, or older than ${SIGNATURE_MAX_AGE_MINUTES} minutes)`);
      }
      const isForm = String(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
      let body: Record<string, unknown>;
      try {
        body = isForm
          ? (() => { const form = new URLSearchParams(raw); const p = form.get('payload'); return p ? JSON.parse(p) : Object.fromEntries(form); })()
          : JSON.parse(raw || '{}');
      } catch {
        throw new AppError('VALIDATION_ERROR', 'The Slack payload is not valid JSON');
      }
      if (body.type === 'url_verification') return { challenge: body.challenge };
      const response = await receiver.dispatch(body);
      return response === undefined || response === null ? reply.code(200).send('') : response;
    });
  });
}

/** Socket Mode: Slack pushes interactions over a WebSocket; nothing public needed. */
export async function startSlackSocketMode(sql: Sql, settings: SlackInteractionSettings & { appToken: string }): Promise<() => Promise<void>> {
  const bolt = new App({
    token: settings.botToken,
    appToken: settings.appToken,
    socketMode: true,
    ...(settings.apiUrl ? { clientOptions: { slackApiUrl: settings.apiUrl }, installerOptions: { clientOptions: { slackApiUrl: settings.apiUrl } } } : {}),
  });
  wireHandlers(bolt, sql);
  await bolt.start();
  return async () => { await bolt.stop(); };
}
