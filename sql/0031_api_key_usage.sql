-- When each API key last authenticated a request (shown as `lastUsedAt` in key lists).
-- Operational state, not an event: recorded at most once a minute per key and server
-- process (server/src/keys/usage.ts), so that use costs no write on most requests.
create table api_key_usage (
  key_id       text primary key,
  last_used_at timestamptz not null
);
