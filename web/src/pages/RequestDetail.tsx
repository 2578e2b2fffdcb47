import { createSignal, For, onCleanup, onMount, Show } from 'solid-js';
import { A, useParams } from '@solidjs/router';
import type { ApprovalRequest, DecisionLinks } from '@agentgate/sdk';
import { client, errorText } from '../api.ts';
import { onEvents } from '../live.ts';
import { can, handleAuthError } from '../session.ts';
import type { LiveEvent } from '@agentgate/sdk';
import { deliveryStatus, eventLabel, forRequest, fromAudit, isDelivery, mergeTimeline, ownPositions, summary, type TimelineEntry } from '../lib/timeline.ts';
import { dateTime, timeLeft } from '../lib/time.ts';
import { useNow } from '../lib/ticker.ts';
import { CopyButton, ErrorNote, Json, Skeleton, StatusBadge, UrgencyBadge } from '../components/bits.tsx';
import { DecisionDialog } from '../components/DecisionDialog.tsx';

export default function RequestDetail() {
  const params = useParams<{ id: string }>();
  const now = useNow();
  const [request, setRequest] = createSignal<ApprovalRequest | null>(null);
  const [timeline, setTimeline] = createSignal<TimelineEntry[]>([]);
  const [error, setError] = createSignal<string | null>(null);
  const [deciding, setDeciding] = createSignal<'approved' | 'denied' | null>(null);
  const [links, setLinks] = createSignal<DecisionLinks | null>(null);
  const [linkError, setLinkError] = createSignal<string | null>(null);
  let early: LiveEvent[] = [];
  let loaded = false;

  const refresh = async () => {
    try {
      setRequest(await client.getRequest(params.id));
    } catch (err) {
      if (!handleAuthError(err)) setError(errorText(err));
    }
  };

  /** Adds the request's live events and the webhook deliveries of them (their status as they go). */
  const addLive = (events: readonly LiveEvent[]) => {
    const mine = forRequest(events, params.id, ownPositions(timeline(), params.id));
    if (!mine.length) return;
    setTimeline((t) => mergeTimeline(t, mine));
    if (mine.some((e) => e.streamId === `request-${params.id}`)) void refresh();
  };

  onCleanup(onEvents((events) => {
    if (loaded) return addLive(events);
    // Until the trail is read, which deliveries are this request's cannot be told: keep them all.
    early.push(...events.filter((e) => e.streamId === `request-${params.id}` || isDelivery(e)));
  }));

  onMount(async () => {
    try {
      const [r, trail] = await Promise.all([client.getRequest(params.id), client.getAuditTrail(params.id)]);
      setRequest(r);
      setTimeline(trail.map(fromAudit));
      loaded = true;
      addLive(early);
      early = [];
    } catch (err) {
      if (!handleAuthError(err)) setError(errorText(err));
    }
  });

  const issueLinks = async () => {
    setLinkError(null);
    try {
      setLinks(await client.issueDecisionLinks(params.id));
    } catch (err) {
      if (!handleAuthError(err)) setLinkError(errorText(err));
    }
  };

  const pending = () => request()?.status === 'pending';
  const policy = () => request()?.policyDecision as (Record<string, any> | undefined);

  return (
    <section aria-labelledby="detail-title">
      <p class="crumbs"><A href="/">Queue</A> / <A href="/requests">Requests</A> / <code>{params.id}</code></p>
      <ErrorNote error={error()} />
      <Show when={request()} fallback={<Show when={!error()}><Skeleton rows={8} label="Loading the request" /></Show>}>
        {(r) => (
          <>
            <header class="page-head">
              <h1 id="detail-title">{r().action}</h1>
              <div class="badges">
                <StatusBadge status={r().status} />
                <UrgencyBadge urgency={r().urgency} />
              </div>
            </header>
            <dl class="facts">
              <dt>Created</dt><dd>{dateTime(r().createdAt)}</dd>
              <Show when={r().expiresAt}>
                <dt>Expires</dt><dd>{dateTime(r().expiresAt!)}{pending() && timeLeft(r().expiresAt, now()) ? ` (in ${timeLeft(r().expiresAt, now())!.text})` : ''}</dd>
              </Show>
              <Show when={r().decidedAt}>
                <dt>Decided</dt><dd>{dateTime(r().decidedAt!)} by <strong>{r().decidedBy}</strong>{r().decisionReason ? ` — “${r().decisionReason}”` : ''}</dd>
              </Show>
            </dl>
            <Show when={pending() && can('request:decide')}>
              <div class="actions left">
                <button class="btn approve" onClick={() => setDeciding('approved')}>Approve</button>
                <button class="btn deny" onClick={() => setDeciding('denied')}>Deny</button>
                <button class="btn" onClick={issueLinks}>Issue decision links</button>
              </div>
              <ErrorNote error={linkError()} />
              <Show when={links()}>
                {(l) => (
                  <div class="links card">
                    <p class="muted small">One-use links, valid until {dateTime(l().expiresAt)}. Whoever opens one decides as you.</p>
                    <p><span class="tag approve">approve</span> <code class="wrap">{l().tokens.approve.url}</code> <CopyButton text={l().tokens.approve.url} label="Copy the approve link" /></p>
                    <p><span class="tag deny">deny</span> <code class="wrap">{l().tokens.deny.url}</code> <CopyButton text={l().tokens.deny.url} label="Copy the deny link" /></p>
                  </div>
                )}
              </Show>
            </Show>
            <div class="grid2">
              <section>
                <h2>Policy decision</h2>
                <Show when={policy()} fallback={<p class="muted">No policy outcome recorded.</p>}>
                  {(p) => (
                    <dl class="facts">
                      <dt>Outcome</dt><dd>{String(p().decision).replace(/_/g, ' ')}</dd>
                      <dt>Policy</dt><dd>{p().policyId ? <><A href={`/policies/${p().policyId}`}>{p().policyName ?? p().policyId}</A>{p().policyVersion != null ? ` v${p().policyVersion}` : ''}{p().ruleIndex != null ? `, rule ${p().ruleIndex}` : ''}</> : 'none matched'}</dd>
                      <Show when={p().reason}><dt>Why</dt><dd>{p().reason}</dd></Show>
                      <dt>Who may decide</dt><dd>{p().approvers?.length ? p().approvers.join(', ') : 'anyone with request:decide'}{p().requireDistinctApprover ? ' (never the requester)' : ''}</dd>
                      <Show when={p().requireReason}><dt>Reason</dt><dd>required</dd></Show>
                      <Show when={p().channels?.length}><dt>Notified on</dt><dd>{p().channels.join(', ')}</dd></Show>
                    </dl>
                  )}
                </Show>
                <h2>Params</h2>
                <Json value={r().params} label="Params" />
                <h2>Context</h2>
                <Json value={r().context} label="Context" />
              </section>
              <section aria-labelledby="timeline-title">
                <h2 id="timeline-title">Timeline</h2>
                <ol class="timeline" aria-live="polite">
                  <For each={timeline()}>
                    {(e) => (
                      <li class={`tl tl-${e.event.replace(/\W/g, '-')}`} data-position={e.position} data-entry={e.id}>
                        <div>
                          <strong>{eventLabel(e.event)}</strong>{' '}
                          <Show when={deliveryStatus(e)}>{(s) => <span class={`badge delivery-${s().replace(/ /g, '-')}`}>{s()}</span>}</Show>{' '}
                          <span class="muted small">{dateTime(e.at)} · {e.actor}{e.channel && e.channel !== e.actor ? ` via ${e.channel}` : ''}</span>
                        </div>
                        <Show when={summary(e)}><div class="small">{summary(e)}</div></Show>
                      </li>
                    )}
                  </For>
                </ol>
              </section>
            </div>
            <Show when={deciding()}>
              {(d) => (
                <DecisionDialog
                  target={{ id: r().id, action: r().action, requireReason: !!policy()?.requireReason }}
                  decision={d()}
                  onClose={() => setDeciding(null)}
                  onDecided={(updated) => { setDeciding(null); setRequest(updated); }}
                />
              )}
            </Show>
          </>
        )}
      </Show>
    </section>
  );
}
