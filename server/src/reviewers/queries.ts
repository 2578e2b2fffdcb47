import type { Sql, TxSql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import type { Person, ReviewerChannel } from '../requests/decider.ts';
import type { PreferredChannel, UniqueField } from './decider.ts';
import type { Reviewer } from './schemas.ts';

export interface ReviewerRow {
  id: string; name: string; email: string | null; slack_user_id: string | null; discord_user_id: string | null;
  groups: string[]; disabled: boolean; key_id: string | null; preferred_channel: PreferredChannel | null;
  created_at: Date; updated_at: Date; deleted_at: Date | null;
}

export const toReviewer = (r: ReviewerRow): Reviewer => ({
  id: r.id, name: r.name, email: r.email, slackUserId: r.slack_user_id, discordUserId: r.discord_user_id,
  groups: r.groups, disabled: r.disabled, keyId: r.key_id, preferredChannel: r.preferred_channel,
  createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
});

export async function listReviewers(sql: Sql, opts: { group?: string; includeDisabled?: boolean } = {}): Promise<Reviewer[]> {
  const rows = await sql<ReviewerRow[]>`
    select * from reviewers where deleted_at is null
      ${opts.group ? sql`and groups @> array[${opts.group}]::text[]` : sql``}
      ${opts.includeDisabled === false ? sql`and not disabled` : sql``}
    order by name, id`;
  return rows.map(toReviewer);
}

export async function getReviewer(sql: Sql, id: string): Promise<Reviewer> {
  const [row] = await sql<ReviewerRow[]>`select * from reviewers where id = ${id} and deleted_at is null`;
  if (!row) throw new AppError('NOT_FOUND', `reviewer ${id} not found`);
  return toReviewer(row);
}

/** Which other living reviewer holds each of these identities. */
export async function identityHolders(
  tx: TxSql, self: string, wanted: Partial<Record<UniqueField, string | null>>,
): Promise<Partial<Record<UniqueField, string>>> {
  const [row] = await tx<{ email: string | null; slack: string | null; discord: string | null; key: string | null }[]>`
    select
      (select id from reviewers where deleted_at is null and id <> ${self} and lower(email) = lower(${wanted.email ?? null}::text)) as email,
      (select id from reviewers where deleted_at is null and id <> ${self} and slack_user_id = ${wanted.slackUserId ?? null}::text) as slack,
      (select id from reviewers where deleted_at is null and id <> ${self} and discord_user_id = ${wanted.discordUserId ?? null}::text) as discord,
      (select id from reviewers where deleted_at is null and id <> ${self} and key_id = ${wanted.keyId ?? null}::text) as key`;
  const out: Partial<Record<UniqueField, string>> = {};
  if (row?.email) out.email = row.email;
  if (row?.slack) out.slackUserId = row.slack;
  if (row?.discord) out.discordUserId = row.discord;
  if (row?.key) out.keyId = row.key;
  return out;
}

export async function keyIsActive(tx: TxSql, keyId: string): Promise<boolean> {
  const [row] = await tx`select 1 from api_keys where id = ${keyId} and revoked_at is null`;
  return row !== undefined;
}

/** The directory's view of one person, as the request decider needs it. */
const toPerson = (r: ReviewerRow): Person => ({
  reviewerId: r.id, name: r.name, keyId: r.key_id, groups: r.groups, disabled: r.disabled,
});

/** The living reviewer linked to this key, if any. */
export async function personByKey(sql: Sql, keyId: string): Promise<Person | null> {
  const [row] = await sql<ReviewerRow[]>`select * from reviewers where key_id = ${keyId} and deleted_at is null`;
  return row ? toPerson(row) : null;
}

/** The living reviewer behind a channel's user id (Slack member id, Discord user id, email address). */
export async function personByChannel(sql: Sql, channel: ReviewerChannel, externalId: string): Promise<Person | null> {
  const [row] = await sql<ReviewerRow[]>`
    select * from reviewers where deleted_at is null and ${
      channel === 'slack' ? sql`slack_user_id = ${externalId}`
        : channel === 'discord' ? sql`discord_user_id = ${externalId}`
          : sql`lower(email) = lower(${externalId})`}`;
  return row ? toPerson(row) : null;
}
