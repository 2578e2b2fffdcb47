-- A policy's decision made as a request was created is an audit entry of its own
-- (audit_decision_entries, projections/90_audit_log.sql): what its filters need. Partial:
-- only a request.created that carries a decision has entries here, so a create a policy
-- routed to people, and every other event, writes none.

-- eventType=approved / denied, and the entries newest first (one scan per status, merged).
create index events_policy_decision_status_idx
  on events ((data#>>'{autoDecision,status}'), position)
  where type = 'request.created' and jsonb_typeof(data->'autoDecision') = 'object';

-- actor=policy:<name>, and the policies among GET /api/audit/actors (a loose index scan).
create index events_policy_decision_policy_idx
  on events (((data#>'{autoDecision,decider}')->>'name'), position)
  where type = 'request.created' and jsonb_typeof(data->'autoDecision') = 'object';

-- The actor index gains the actor's id, so a filter by a bare id finds the (type, name)
-- pairs recorded with that id (one probe per distinct actor) and then its entries by
-- index, instead of reading the whole log. Same entries per event as before.
drop index events_actor_idx;
create index events_actor_idx on events (
  (event_actor(data, metadata)->>'type'), (event_actor(data, metadata)->>'name'), (event_actor(data, metadata)->>'id'));
