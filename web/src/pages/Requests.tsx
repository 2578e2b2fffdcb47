import { createSignal, For, onMount, Show } from 'solid-js';
import { A, useSearchParams } from '@solidjs/router';
import type { ApprovalRequest, ListRequestsQuery } from '@agentgate/sdk';
import { client, errorText } from '../api.ts';
import { handleAuthError } from '../session.ts';
import { csvHeader, csvRow, ndjsonRow } from '../lib/export.ts';
import { dateTime } from '../lib/time.ts';
import { Empty, ErrorNote, Skeleton, StatusBadge, UrgencyBadge } from '../components/bits.tsx';

const STATUSES = ['', 'pending', 'approved', 'denied', 'expired', 'cancelled'];
const URGENCIES = ['', 'critical', 'high', 'normal', 'low'];
const PAGE = 50;

/** A date input (yyyy-mm-dd) as the start of that day, or of the next day for an inclusive end. */
function dayBound(day: string | undefined, end: boolean): string | undefined {
  if (!day) return undefined;
  const d = new Date(`${day}T00:00:00`);
  if (Number.isNaN(d.getTime())) return undefined;
  if (end) d.setDate(d.getDate() + 1);
  return d.toISOString();
}

export default function Requests() {
  // Filters live in the URL: a filtered list is a link to share.
  const [params, setParams] = useSearchParams<{ status?: string; action?: string; urgency?: string; from?: string; to?: string }>();
  const [rows, setRows] = createSignal<ApprovalRequest[]>([]);
  const [total, setTotal] = createSignal(0);
  const [cursors, setCursors] = createSignal<(string | null)[]>([null]);
  const [next, setNext] = createSignal<string | null>(null);
  const [loading, setLoading] = createSignal(true);
  const [error, setError] = createSignal<string | null>(null);
  const [exporting, setExporting] = createSignal<string | null>(null);

  const query = (): ListRequestsQuery => ({
    ...(params.status ? { status: params.status as ListRequestsQuery['status'] } : {}),
    ...(params.action ? { action: params.action } : {}),
    ...(params.urgency ? { urgency: params.urgency as ListRequestsQuery['urgency'] } : {}),
    ...(params.from ? { from: dayBound(params.from, false) } : {}),
    ...(params.to ? { to: dayBound(params.to, true) } : {}),
  });

  const load = async (cursor: string | null) => {
    setLoading(true);
    setError(null);
    try {
      const page = await client.listRequests({ ...query(), limit: PAGE, ...(cursor ? { cursor } : {}) });
      setRows(page.requests);
      setTotal(page.pagination.total);
      setNext(page.pagination.nextCursor);
    } catch (err) {
      if (!handleAuthError(err)) setError(errorText(err));
    } finally {
      setLoading(false);
    }
  };

  onMount(() => void load(null));

  const apply = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const value = (k: string) => (String(form.get(k) ?? '').trim() || undefined);
    setParams({ status: value('status'), action: value('action'), urgency: value('urgency'), from: value('from'), to: value('to') });
    setCursors([null]);
    void load(null);
  };

  const older = () => {
    const c = next();
    if (!c) return;
    setCursors([...cursors(), c]);
    void load(c);
  };
  const newer = () => {
    const list = cursors().slice(0, -1);
    setCursors(list.length ? list : [null]);
    void load(list[list.length - 1] ?? null);
  };

  /** Reads every page of the filtered set through the API and saves it as one file. */
  const exportAs = async (format: 'ndjson' | 'csv') => {
    const parts: string[] = format === 'csv' ? [csvHeader()] : [];
    let cursor: string | null = null;
    let count = 0;
    try {
      do {
        const page = await client.listRequests({ ...query(), limit: 100, ...(cursor ? { cursor } : {}) });
        for (const r of page.requests) parts.push(format === 'csv' ? csvRow(r) : ndjsonRow(r));
        count += page.requests.length;
        setExporting(`Exporting… ${count} of ${page.pagination.total}`);
        cursor = page.pagination.nextCursor;
      } while (cursor);
      const blob = new Blob(parts, { type: format === 'csv' ? 'text/csv' : 'application/x-ndjson' });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `agentgate-requests-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.${format}`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      setExporting(`Exported ${count} requests`);
    } catch (err) {
      if (!handleAuthError(err)) setExporting(`Export failed: ${errorText(err)}`);
    }
  };

  return (
    <section aria-labelledby="requests-title">
      <header class="page-head">
        <h1 id="requests-title">Requests</h1>
        <p class="muted">{total()} matching</p>
      </header>
      <form class="filters" onSubmit={apply} aria-label="Filters">
        <div><label for="f-status">Status</label>
          <select id="f-status" name="status" value={params.status ?? ''}>
            <For each={STATUSES}>{(s) => <option value={s}>{s || 'any'}</option>}</For>
          </select></div>
        <div><label for="f-action">Action</label><input id="f-action" name="action" value={params.action ?? ''} placeholder="e.g. send_email" /></div>
        <div><label for="f-urgency">Urgency</label>
          <select id="f-urgency" name="urgency" value={params.urgency ?? ''}>
            <For each={URGENCIES}>{(u) => <option value={u}>{u || 'any'}</option>}</For>
          </select></div>
        <div><label for="f-from">From</label><input id="f-from" name="from" type="date" value={params.from ?? ''} /></div>
        <div><label for="f-to">To</label><input id="f-to" name="to" type="date" value={params.to ?? ''} /></div>
        <div class="filter-actions"><button class="btn primary" type="submit">Apply</button></div>
      </form>
      <div class="actions left">
        <button class="btn" onClick={() => void exportAs('csv')}>Export CSV</button>
        <button class="btn" onClick={() => void exportAs('ndjson')}>Export NDJSON</button>
        <span class="muted small" role="status">{exporting()}</span>
      </div>
      <ErrorNote error={error()} />
      <Show when={!loading()} fallback={<Skeleton rows={8} label="Loading requests" />}>
        <Show when={rows().length} fallback={<Empty title="No requests match"><p>Change the filters, or create a request with the API (see the queue page).</p></Empty>}>
          <div class="table-wrap">
            <table>
              <thead><tr><th scope="col">Action</th><th scope="col">Status</th><th scope="col">Urgency</th><th scope="col">Created</th><th scope="col">Decided by</th></tr></thead>
              <tbody>
                <For each={rows()}>
                  {(r) => (
                    <tr>
                      <td><A href={`/requests/${r.id}`}>{r.action}</A><div class="muted small"><code>{r.id}</code></div></td>
                      <td><StatusBadge status={r.status} /></td>
                      <td><UrgencyBadge urgency={r.urgency} /></td>
                      <td>{dateTime(r.createdAt)}</td>
                      <td>{r.decidedBy ?? '—'}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
          <nav class="actions" aria-label="Pages">
            <button class="btn" disabled={cursors().length <= 1} onClick={newer}>Newer</button>
            <button class="btn" disabled={!next()} onClick={older}>Older</button>
          </nav>
        </Show>
      </Show>
    </section>
  );
}
