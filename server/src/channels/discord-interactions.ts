/**
 * Discord, inbound: interactions over HTTP at POST /integrations/discord/interactions (the
 * application's Interactions Endpoint URL). Each is verified against the application's
 * Ed25519 public key (DISCORD_PUBLIC_KEY) over the timestamp and the exact bytes sent, and
 * refused when older than five minutes; Discord itself checks that a bad signature is
 * refused before it accepts the endpoint.
 *
 * A click is decided as the reviewer whose Discord user id it carries, through the decision
 * path every channel shares; when it decides, the answer rewrites the clicked message with
 * the outcome (UPDATE_MESSAGE), and that update is recorded with the decision so the update
 * job does not send it again. A click that decides nothing is answered to the clicker alone
 * (an ephemeral message) with the reason. Deny, and Approve where the rule requires a reason,
 * opens a modal asking for it — for someone who may decide; anyone else gets that answer at
 * the click, not after filling in the form.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import {
  InteractionResponseType, InteractionType, MessageFlags,
  type APIInteraction, type APIInteractionResponse, type APIMessageComponentInteraction, type APIModalSubmitInteraction,
} from 'discord-api-types/v10';
import type { FastifyInstance } from 'fastify';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import type { ApprovalRequest } from '../requests/schemas.ts';
import { clickStep, decideClick, type Decision } from './clicks.ts';
import { discordMessage, discordReasonModal, parseButtonId, parseModalId, REASON_INPUT } from './discord-messages.ts';
import { dashboardUrl, outcomeLine } from './render.ts';

export interface DiscordInteractionSettings {
  /** The application's public key, 64 hex digits (Developer Portal → General Information). */
  publicKey: string;
}

export const DISCORD_SIGNATURE_MAX_AGE_SECONDS = 300;

/** The application's Ed25519 public key from its hex form. */
export function discordPublicKey(hex: string): KeyObject {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error('DISCORD_PUBLIC_KEY must be 64 hex digits');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(hex, 'hex').toString('base64url') }, format: 'jwk' });
}

/** Whether Discord signed `timestamp + body` with this key, recently enough. */
export function verifyDiscordSignature(
  key: KeyObject, signature: string, timestamp: string, body: string, nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  if (!/^[0-9a-fA-F]{128}$/.test(signature) || !/^[0-9]{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > DISCORD_SIGNATURE_MAX_AGE_SECONDS) return false;
  return verify(null, Buffer.from(timestamp + body, 'utf8'), key, Buffer.from(signature, 'hex'));
}

const privately = (text: string): APIInteractionResponse => ({
  type: InteractionResponseType.ChannelMessageWithSource,
  data: { content: text.slice(0, 2000), flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } },
});

/** The clicker: `member.user` in a server, `user` in a direct message. */
const clickerOf = (i: APIMessageComponentInteraction | APIModalSubmitInteraction) => i.member?.user.id ?? i.user?.id ?? '';

/** The text typed into the reason input, wherever the modal's layout put it. */
function reasonOf(i: APIModalSubmitInteraction): string {
  for (const c of i.data.components) {
    const inputs = 'components' in c ? c.components : 'component' in c ? [c.component] : [];
    for (const input of inputs) {
      if (input.custom_id === REASON_INPUT && 'value' in input && typeof input.value === 'string') return input.value;
    }
  }
  return '';
}

export function discordInteractionHandler(sql: Sql, baseUrl: () => string) {
  const updated = (request: ApprovalRequest): APIInteractionResponse => ({
    type: InteractionResponseType.UpdateMessage,
    data: discordMessage({ request, dashboardUrl: dashboardUrl(baseUrl(), request.id) }),
  });

  const decideAndAnswer = async (
    i: APIMessageComponentInteraction | APIModalSubmitInteraction, requestId: string, decision: Decision, reason: string | null,
  ): Promise<APIInteractionResponse> => {
    const messageId = i.message?.id;
    const result = await decideClick(sql, {
      requestId, decision, reason, channel: 'discord', externalId: clickerOf(i), ...(messageId ? { answersMessage: messageId } : {}),
    });
    if (!result.decided) return privately(result.text);
    // Not one of the request's recorded messages (or a modal opened elsewhere): the update
    // job updates the recorded ones; the clicker is told the outcome.
    return result.answered ? updated(result.request) : privately(`${outcomeLine(result.request)}.`);
  };

  return async (i: APIInteraction): Promise<APIInteractionResponse> => {
    switch (i.type) {
      case InteractionType.Ping:
        return { type: InteractionResponseType.Pong };
      case InteractionType.MessageComponent: {
        const click = parseButtonId(i.data.custom_id);
        if (!click) return privately('This button is not one of AgentGate’s.');
        const next = await clickStep(sql, click.requestId, click.decision, { channel: 'discord', externalId: clickerOf(i) });
        if (next.step === 'answer') return privately(next.text);
        if (next.step === 'ask_reason') return { type: InteractionResponseType.Modal, data: discordReasonModal(next.request, click.decision) };
        return decideAndAnswer(i, click.requestId, click.decision, null);
      }
      case InteractionType.ModalSubmit: {
        const submitted = parseModalId(i.data.custom_id);
        if (!submitted) return privately('This form is not one of AgentGate’s.');
        return decideAndAnswer(i, submitted.requestId, submitted.decision, reasonOf(i).trim() || null);
      }
      default:
        return privately('AgentGate has no commands; use the buttons on its messages.');
    }
  };
}

/** POST /integrations/discord/interactions. */
export async function discordInteractionRoutes(
  app: FastifyInstance, opts: { sql: Sql; settings: DiscordInteractionSettings; baseUrl: () => string },
) {
  const key = discordPublicKey(opts.settings.publicKey);
  const handle = discordInteractionHandler(opts.sql, opts.baseUrl);

  await app.register(async (scope) => {
    // Discord signs the exact bytes it sent: keep them.
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));
    scope.post('/integrations/discord/interactions', { config: { scope: null }, schema: { hide: true } }, async (request) => {
      const raw = typeof request.body === 'string' ? request.body : '';
      const signature = String(request.headers['x-signature-ed25519'] ?? '');
      const timestamp = String(request.headers['x-signature-timestamp'] ?? '');
      if (!verifyDiscordSignature(key, signature, timestamp, raw)) {
        request.log.warn('refused a Discord interaction with a bad or stale signature');
        throw new AppError('UNAUTHORIZED', `Discord signature check failed (bad signature, or older than ${DISCORD_SIGNATURE_MAX_AGE_SECONDS / 60} minutes)`);
      }
      let interaction: APIInteraction;
      try {
        interaction = JSON.parse(raw) as APIInteraction;
      } catch {
        throw new AppError('VALIDATION_ERROR', 'The Discord interaction is not valid JSON');
      }
      return handle(interaction);
    });
  });
}
