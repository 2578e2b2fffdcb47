/**
 * A request as a Discord message (an embed, Approve and Deny buttons while it is pending),
 * the reason modal, and the custom ids that carry which request a click is about. Built with
 * @discordjs/builders, which checks Discord's limits as it builds.
 */
import {
  ActionRowBuilder, ButtonBuilder, EmbedBuilder, ModalBuilder, TextInputBuilder, escapeMarkdown,
} from '@discordjs/builders';
import {
  ButtonStyle, TextInputStyle, type APIEmbed, type APIModalInteractionResponseCallbackData, type RESTPostAPIChannelMessageJSONBody,
} from 'discord-api-types/v10';
import type { ApprovalRequest } from '../requests/schemas.ts';
import type { Decision } from './clicks.ts';
import { compactLines, outcomeLine, summaryLines, title } from './render.ts';
import type { RequestView } from './types.ts';

const PREFIX = 'agentgate';
/** Text inputs are found by this id in a modal submission. */
export const REASON_INPUT = 'reason';

const COLOURS = {
  low: 0x9e9e9e, normal: 0x1e88e5, high: 0xfb8c00, critical: 0xe53935,
  approved: 0x2e7d32, denied: 0xc62828, expired: 0x757575, cancelled: 0x757575,
} as Record<string, number>;

// Discord's own limits: an embed field holds 1,024 characters, a title 256, a label 80.
const FIELD_MAX = 1024;
const TITLE_MAX = 256;

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** A code block of `key: value` lines that fits one embed field; ``` from a request cannot close it. */
function codeField(lines: string[]): string {
  if (lines.length === 0) return '_none_';
  const body = lines.join('\n').replace(/```/g, "'''");
  return `\`\`\`\n${cut(body, FIELD_MAX - 8)}\n\`\`\``;
}

export const buttonId = (decision: Decision, requestId: string) => `${PREFIX}:${decision === 'approved' ? 'approve' : 'deny'}:${requestId}`;
export const modalId = (decision: Decision, requestId: string) => `${PREFIX}:reason:${decision}:${requestId}`;

/** The request and decision a button's custom id names, or null for one that is not ours. */
export function parseButtonId(customId: string): { decision: Decision; requestId: string } | null {
  const m = /^agentgate:(approve|deny):(.+)$/.exec(customId);
  return m ? { decision: m[1] === 'approve' ? 'approved' : 'denied', requestId: m[2]! } : null;
}

export function parseModalId(customId: string): { decision: Decision; requestId: string } | null {
  const m = /^agentgate:reason:(approved|denied):(.+)$/.exec(customId);
  return m ? { decision: m[1] as Decision, requestId: m[2]! } : null;
}

/**
 * The message for a request: the same facts as every channel, and Approve, Deny and a
 * dashboard link while it is pending; once it is over, the outcome and no buttons (an
 * empty component list removes them when the message is edited). Nobody is pinged by
 * text an agent put in a request.
 */
export function discordMessage(view: RequestView): RESTPostAPIChannelMessageJSONBody & { content: string; embeds: APIEmbed[] } {
  const r = view.request;
  const pending = r.status === 'pending';
  const embed = new EmbedBuilder()
    .setTitle(cut(title(r), TITLE_MAX))
    .setURL(view.dashboardUrl)
    .setColor(COLOURS[pending ? r.urgency : r.status] ?? COLOURS.normal!)
    .setDescription([
      ...(pending ? [] : [`**${escapeMarkdown(outcomeLine(r))}**`, '']),
      ...summaryLines(r).map((l) => escapeMarkdown(l)),
    ].join('\n'))
    .addFields({ name: 'Parameters', value: codeField(compactLines(r.params)) })
    .setFooter({ text: r.id })
    .setTimestamp(new Date(r.createdAt));
  if (Object.keys(r.context).length) embed.addFields({ name: 'Context', value: codeField(compactLines(r.context)) });

  const open = new ButtonBuilder().setStyle(ButtonStyle.Link).setLabel('Open in dashboard').setURL(view.dashboardUrl);
  const components = pending
    ? [new ActionRowBuilder<ButtonBuilder>().addComponents(
        new ButtonBuilder().setStyle(ButtonStyle.Success).setLabel('Approve').setCustomId(buttonId('approved', r.id)),
        new ButtonBuilder().setStyle(ButtonStyle.Danger).setLabel('Deny').setCustomId(buttonId('denied', r.id)),
        open,
      ).toJSON()]
    : [];
  return {
    content: pending ? cut(title(r), 200) : cut(`${r.action}: ${outcomeLine(r)}`, 2000),
    embeds: [embed.toJSON()],
    components,
    allowed_mentions: { parse: [] },
  };
}

/** The modal asking for a reason; its custom id carries the request and the decision. */
export function discordReasonModal(request: ApprovalRequest, decision: Decision): APIModalInteractionResponseCallbackData {
  const verb = decision === 'approved' ? 'Approve' : 'Deny';
  return new ModalBuilder()
    .setCustomId(modalId(decision, request.id))
    .setTitle(`${verb} request`)
    .addComponents(new ActionRowBuilder<TextInputBuilder>().addComponents(
      new TextInputBuilder()
        .setCustomId(REASON_INPUT)
        .setLabel('Reason')
        .setPlaceholder(cut(`Why ${verb.toLowerCase()} ${request.action}?`, 100))
        .setStyle(TextInputStyle.Paragraph)
        .setRequired(true)
        .setMaxLength(2000),
    ))
    .toJSON();
}
