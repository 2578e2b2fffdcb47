import { createSignal, For, onCleanup, onMount, Show } from 'solid-js';
import { A, useSearchParams } from '@solidjs/router';
import type { AuditEntry, AuditQuery, LiveEvent } from '@agentgate/sdk';
import { client, errorText } from '../api.ts';
import { onEvents } from '../live.ts';
import { handleAuthError } from '../session.ts';
import { dateTime } from '../lib/time.ts';
import { fromLive } from '../lib/timeline.ts';
import { Empty, ErrorNote, Skeleton } from '../components/bits.tsx';

export interface AuditRow {
  /** The entry's id: the event's position, or `<position>.1` for the decision a request.created carries. */
  id: string;
  position: number;
  event: string;
  actor: string;
  channel: string | null;
  requestId: string | null;
  action: string | null;
  at: string;
}

const fromEntry = (e: AuditEntry): AuditRow => ({
  id: e.id, position: e.position, event: e.event, actor: e.actorInfo.name, channel: e.channel, requestId: e.requestId, action: e.action, at: e.createdAt,
});

/** A live event as the audit log reads it: its entry, and the decision a request.created may carry. */
const fromEvent = (e: LiveEvent): AuditRow[] => fromLive(e).map((t) => ({
  id: t.id, position: t.position, event: t.event, actor: t.actor, channel: t.channel,
  requestId: e.streamType === 'request' ? e.streamId.slice('request-'.length) : null,
  action: typeof e.data.action === 'string' ? e.data.action : null, at: t.at,
}));

/** Whether a live event belongs in the list the filters describe (the server applies the same ones). */
function matches(row: AuditRow, q: AuditQuery): boolean {
  if (q.eventType && row.event !== q.eventType && row.event.replace(/^request\./, '') !== q.eventType) return false;
  if (q.actor && row.actor !== q.actor) return false;
  if (q.action && row.action !== q.action) return false;
  if (q.to) return false; // a bounded range does not grow
  return true;
}

export default function Audit() {
  const [params, setParams] = useSearchParams<{ eventType?: string; action?: string; actor?: string; from?: string; to?: string }>();
  const [rows, setRows] = createSignal<AuditRow[]>([]);
  const [next, setNext] = createSignal<string | null>(null);
  const [loading, setLoading] = createSignal(true);
  const [error, setError] = createSignal<string | null>(null);
  const [paused, setPaused] = createSignal(false);
  const [held, setHeld] = createSignal<AuditRow[]>([]);

  const query = (): AuditQuery => ({
    ...(params.eventType ? { eventType: params.eventType } : {}),
    ...(params.action ? { action: params.action } : {}),
    ...(params.actor ? { actor: params.actor } : {}),
    ...(params.from ? { from: new Date(`${params.from}T00:00:00`).toISOString() } : {}),
    ...(params.to ? { to: new Date(new Date(`${params.to}T00:00:00`).getTime() + 86_400_000).toISOString() } : {}),
  });

  const load = async (cursor: string | null) => {
    setError(null);
    try {
      const page = await client.audit({ ...query(), limit: 50, ...(cursor ? { cursor } : {}) });
      const got = page.entries.map(fromEntry);
      setRows(cursor ? [...rows(), ...got] : got);
      setNext(page.pagination.nextCursor);
    } catch (err) {
      if (!handleAuthError(err)) setError(errorText(err));
    } finally {
      setLoading(false);
    }
  };
  onMount(() => void load(null));

  // The live tail: new entries on top, held back while paused.
  onCleanup(onEvents((events) => {
    if (loading()) return;
    const q = query();
    const known = new Set(rows().map((r) => r.id));
    const fresh = events.flatMap(fromEvent).filter((r) => !known.has(r.id) && matches(r, q)).reverse();
    if (!fresh.length) return;
    if (paused()) setHeld([...fresh, ...held()]);
    else setRows([...fresh, ...rows()]);
  }));

  const resume = () => {
    setRows([...held(), ...rows()]);
    setHeld([]);
    setPaused(false);
  };

  const apply = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const value = (k: string) => (String(form.get(k) ?? '').trim() || undefined);
    setParams({ eventType: value('eventType'), action: value('action'), actor: value('actor'), from: value('from'), to: value('to') });
    setLoading(true);
    setHeld([]);
    void load(null);
  };

  return (
    <section aria-labelledby="audit-title">
      <header class="page-head">
        <h1 id="audit-title">Audit</h1>
        <Show when={paused()} fallback={<button class="btn" onClick={() => setPaused(true)} aria-pressed="false">Pause live tail</button>}>
          <button class="btn primary" onClick={resume} aria-pressed="true">Resume live tail{held().length ? ` (${held().length} new)` : ''}</button>
        </Show>
      </header>
      <form class="filters" onSubmit={apply} aria-label="Search the audit log">
        <div><label for="a-type">Event type</label><input id="a-type" name="eventType" value={params.eventType ?? ''} placeholder="e.g. approved, policy.updated" /></div>
        <div><label for="a-action">Action</label><input id="a-action" name="action" value={params.action ?? ''} /></div>
        <div><label for="a-actor">Actor</label><input id="a-actor" name="actor" value={params.actor ?? ''} placeholder="name or id" /></div>
        <div><label for="a-from">From</label><input id="a-from" name="from" type="date" value={params.from ?? ''} /></div>
        <div><label for="a-to">To</label><input id="a-to" name="to" type="date" value={params.to ?? ''} /></div>
        <div><button class="btn primary" type="submit">Search</button></div>
      </form>
      <ErrorNote error={error()} />
      <Show when={!loading()} fallback={<Skeleton rows={8} label="Loading the audit log" />}>
        <Show when={rows().length} fallback={<Empty title="Nothing recorded yet"><p>Every request, decision, policy and key change appears here as it happens.</p></Empty>}>
          <div class="table-wrap">
            <table aria-live={paused() ? 'off' : 'polite'}>
              <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Actor</th><th scope="col">Request</th></tr></thead>
              <tbody>
                <For each={rows()}>
                  {(r) => (
                    <tr data-position={r.position} data-entry={r.id}>
                      <td>{dateTime(r.at)}</td>
                      <td><code>{r.event}</code></td>
                      <td>{r.actor}{r.channel ? <span class="muted small"> via {r.channel}</span> : ''}</td>
                      <td>{r.requestId ? <A href={`/requests/${r.requestId}`}>{r.action ?? r.requestId}</A> : '—'}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
          <Show when={next()}>
            <div class="actions"><button class="btn" onClick={() => void load(next())}>Older entries</button></div>
          </Show>
        </Show>
      </Show>
    </section>
  );
}
