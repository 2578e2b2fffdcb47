-- Deliveries waiting for their webhook, in the order their events were appended.
-- Operational state, not rebuilt from events (the log records every attempt; this is the
-- line still to be served). One row per delivery until it succeeds or gives up: the row at
-- the head of a webhook's line (lowest seq) is the only one sent, so a delivery waiting for
-- its retry holds back every later delivery to the same webhook, and one job per webhook
-- (key `webhook:<id>`) sends the due head, then the next, back to back.
create table webhook_outbox (
  seq         bigint generated always as identity primary key,
  webhook_id  text not null,
  delivery_id text not null unique,
  attempt     integer not null default 1,
  due_at      timestamptz not null default now(),
  payload     jsonb not null
);
create index webhook_outbox_line_idx on webhook_outbox (webhook_id, seq);
