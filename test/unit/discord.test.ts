/**
 * Discord's pure parts: the message (within Discord's limits, buttons only while pending,
 * no markdown or pings injected by a request), custom ids, the Ed25519 check, the one
 * update a click's answer claims, and the dashboard link matching the dashboard's route.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { discordPublicKey, verifyDiscordSignature } from '../../server/src/channels/discord-interactions.ts';
import { buttonId, discordMessage, discordReasonModal, modalId, parseButtonId, parseModalId } from '../../server/src/channels/discord-messages.ts';
import { messageNonce } from '../../server/src/channels/discord.ts';
import { decideNotification, evolveNotification, initialNotificationState } from '../../server/src/channels/notification-decider.ts';
import { dashboardUrl } from '../../server/src/channels/render.ts';
import { ROOT_DIR } from '../../server/src/db/paths.ts';
import type { ApprovalRequest } from '../../server/src/requests/schemas.ts';

const request = (over: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
  id: 'req_01J0000000000000000000000', action: 'deploy', params: { service: 'billing' }, context: {}, status: 'pending', urgency: 'high',
  createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', decidedAt: null, decidedBy: null, decider: null,
  decidedByLabel: null, decisionReason: null, expiresAt: null, requester: { id: 'key_1', name: 'deploy-bot' }, policyDecision: null, ...over,
});
const view = (r: ApprovalRequest) => ({ request: r, dashboardUrl: dashboardUrl('https://gate.example.com/', r.id) });

t.test('pending: Approve, Deny and the dashboard link; over: the outcome and no buttons', async (t) => {
  const pending = discordMessage(view(request()));
  const row = pending.components![0] as { components: Array<{ style: number; custom_id?: string; url?: string }> };
  t.same(row.components.map((b) => b.custom_id ?? b.url), [
    'agentgate:approve:req_01J0000000000000000000000', 'agentgate:deny:req_01J0000000000000000000000',
    'https://gate.example.com/requests/req_01J0000000000000000000000',
  ]);
  t.same(pending.allowed_mentions, { parse: [] });
  const over = discordMessage(view(request({
    status: 'denied', decisionReason: 'no', decider: { type: 'reviewer', id: 'rev_1', name: 'Alice', channel: 'discord', externalId: '1' },
  })));
  t.same(over.components, []);
  t.match(over.embeds[0]!.description, /^\*\*⛔ Denied by Alice \(discord\): no\*\*/);
  t.equal(over.content, 'deploy: ⛔ Denied by Alice (discord): no');
});

t.test("a request's text is shown, not interpreted, and fits Discord's limits", async (t) => {
  const huge = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, '```'.padEnd(500, 'x')]));
  const m = discordMessage(view(request({ action: 'a'.repeat(400), params: huge, context: huge, requester: { id: 'k', name: '**@everyone**' } })));
  const embed = m.embeds[0]!;
  t.ok(embed.title!.length <= 256);
  for (const f of embed.fields!) {
    t.ok(f.value.length <= 1024, `${f.name} fits a field`);
    t.equal(f.value.match(/```/g)!.length, 2, 'the code block cannot be closed early');
  }
  t.match(embed.description, /\\\*\\\*@everyone\\\*\\\*/, 'markdown escaped');
});

t.test('custom ids round-trip; foreign ones are not ours', async (t) => {
  t.same(parseButtonId(buttonId('approved', 'req_1')), { decision: 'approved', requestId: 'req_1' });
  t.same(parseButtonId(buttonId('denied', 'req_1')), { decision: 'denied', requestId: 'req_1' });
  t.same(parseModalId(modalId('denied', 'req_1')), { decision: 'denied', requestId: 'req_1' });
  t.equal(parseButtonId('something:else'), null);
  t.equal(parseModalId(buttonId('approved', 'req_1')), null);
  const modal = discordReasonModal(request(), 'approved');
  t.equal(modal.custom_id, 'agentgate:reason:approved:req_01J0000000000000000000000');
});

t.test('the Ed25519 check: right key, right bytes, recent enough', async (t) => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const hex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
  const key = discordPublicKey(hex);
  const now = 1_800_000_000;
  const body = '{"type":1}';
  const sig = (ts: number, b = body, k = privateKey) => sign(null, Buffer.from(`${ts}${b}`), k).toString('hex');
  t.ok(verifyDiscordSignature(key, sig(now), String(now), body, now));
  t.notOk(verifyDiscordSignature(key, sig(now), String(now), '{"type":2}', now), 'another body');
  t.notOk(verifyDiscordSignature(key, sig(now), String(now + 1), body, now), 'another timestamp');
  t.notOk(verifyDiscordSignature(key, sig(now, body, generateKeyPairSync('ed25519').privateKey), String(now), body, now), 'another key');
  t.notOk(verifyDiscordSignature(key, sig(now - 301), String(now - 301), body, now), 'older than five minutes');
  t.notOk(verifyDiscordSignature(key, 'zz', String(now), body, now), 'not a signature');
  t.throws(() => discordPublicKey('abc'));
});

t.test("a click's answer claims its message's one update; never twice, never another channel's", async (t) => {
  const dest = { key: 'discord:1', channel: 'discord' as const, target: '1' };
  let s = initialNotificationState();
  s = evolveNotification(s, { type: 'request.notified', data: { destination: dest, messageId: 'm1', ref: { channel: '1' } } });
  t.same(decideNotification({ type: 'record_answered', channel: 'slack', messageId: 'm1', status: 'approved' }, s), []);
  t.same(decideNotification({ type: 'record_answered', channel: 'discord', messageId: 'other', status: 'approved' }, s), []);
  const [e] = decideNotification({ type: 'record_answered', channel: 'discord', messageId: 'm1', status: 'approved' }, s);
  t.same(e, { type: 'request.notification_updated', data: { key: 'discord:1', messageId: 'm1', status: 'approved', via: 'interaction' } });
  s = evolveNotification(s, e!);
  t.same(decideNotification({ type: 'record_answered', channel: 'discord', messageId: 'm1', status: 'approved' }, s), []);
  t.same(decideNotification({ type: 'record_updated', key: 'discord:1', status: 'approved' }, s), [], 'the update job finds it done');
});

t.test('a repeated post carries the same nonce (Discord then returns the first message)', async (t) => {
  t.equal(messageNonce('req_1', 'discord:1'), messageNonce('req_1', 'discord:1'));
  t.not(messageNonce('req_1', 'discord:1'), messageNonce('req_1', 'discord:2'));
  t.ok(messageNonce('req_1', 'discord:1').length <= 25);
});

t.test("the dashboard link is the dashboard's own route for a request", async (t) => {
  const routes = readFileSync(path.join(ROOT_DIR, 'web/src/main.tsx'), 'utf8');
  t.match(routes, /<Route path="\/requests\/:id" component=\{RequestDetail\} \/>/);
  t.equal(dashboardUrl('https://gate.example.com/', 'req_1'), 'https://gate.example.com/requests/req_1');
});
