-- The reviewer directory: people who decide from Slack, Discord, email or a linked key.
-- A deleted reviewer keeps its row (deleted_at set), so past decisions still name them;
-- its identities are free for someone else.
drop table if exists reviewers cascade;

create table reviewers (
  id                 text primary key,
  name               text not null,
  email              text,
  slack_user_id      text,
  discord_user_id    text,
  groups             text[] not null,
  disabled           boolean not null,
  key_id             text,
  preferred_channel  text,
  created_at         timestamptz not null,
  updated_at         timestamptz not null,
  deleted_at         timestamptz,
  version            integer not null
);
-- One person per identity among the living (checked by the command too, under a lock).
create unique index reviewers_email_idx on reviewers (lower(email)) where deleted_at is null;
create unique index reviewers_slack_idx on reviewers (slack_user_id) where deleted_at is null;
create unique index reviewers_discord_idx on reviewers (discord_user_id) where deleted_at is null;
create unique index reviewers_key_idx on reviewers (key_id) where deleted_at is null;
create index reviewers_groups_idx on reviewers using gin (groups) where deleted_at is null;

create or replace function project_reviewers(e events) returns void language plpgsql as $$
declare
  d jsonb := e.data;
begin
  if e.stream_type <> 'reviewer' then return; end if;
  case e.type
    when 'reviewer.created' then
      insert into reviewers (id, name, email, slack_user_id, discord_user_id, groups, disabled, key_id,
        preferred_channel, created_at, updated_at, version)
      values (d->>'id', d->>'name', d->>'email', d->>'slackUserId', d->>'discordUserId',
        array(select jsonb_array_elements_text(d->'groups')), (d->>'disabled')::boolean, d->>'keyId',
        d->>'preferredChannel', e.recorded_at, e.recorded_at, e.version);
    when 'reviewer.updated' then
      update reviewers set
        name = case when d ? 'name' then d->>'name' else name end,
        email = case when d ? 'email' then d->>'email' else email end,
        slack_user_id = case when d ? 'slackUserId' then d->>'slackUserId' else slack_user_id end,
        discord_user_id = case when d ? 'discordUserId' then d->>'discordUserId' else discord_user_id end,
        groups = case when d ? 'groups' then array(select jsonb_array_elements_text(d->'groups')) else groups end,
        disabled = case when d ? 'disabled' then (d->>'disabled')::boolean else disabled end,
        key_id = case when d ? 'keyId' then d->>'keyId' else key_id end,
        preferred_channel = case when d ? 'preferredChannel' then d->>'preferredChannel' else preferred_channel end,
        updated_at = e.recorded_at, version = e.version
      where id = d->>'id';
    when 'reviewer.deleted' then
      update reviewers set deleted_at = e.recorded_at, updated_at = e.recorded_at, version = e.version
      where id = d->>'id';
    else null;
  end case;
end;
$$;
