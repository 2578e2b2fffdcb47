import { createSignal, For, onCleanup, onMount, Show } from 'solid-js';
import { A, useNavigate } from '@solidjs/router';
import type { ApprovalRequest } from '@agentgate/sdk';
import { client, errorText } from '../api.ts';
import { onEvents, streamReady } from '../live.ts';
import { can, handleAuthError } from '../session.ts';
import { applyEvents, fromRequest, type Departure, type QueueItem } from '../lib/queue.ts';
import { age, timeLeft } from '../lib/time.ts';
import { useNow } from '../lib/ticker.ts';
import { sentHere } from '../lib/sent-here.ts';
import { Empty, ErrorNote, notify, Skeleton, UrgencyBadge } from '../components/bits.tsx';
import { DecisionDialog, type DecisionTarget } from '../components/DecisionDialog.tsx';

const PAGE = 100;

export function isTyping(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  return !!t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName)) || e.metaKey || e.ctrlKey || e.altKey;
}

export default function Queue() {
  const navigate = useNavigate();
  const now = useNow();
  const [items, setItems] = createSignal<QueueItem[]>([]);
  const [total, setTotal] = createSignal(0);
  const [cursor, setCursor] = createSignal<string | null>(null);
  const [loading, setLoading] = createSignal(true);
  const [error, setError] = createSignal<string | null>(null);
  const [selected, setSelected] = createSignal(0);
  const [departed, setDeparted] = createSignal<Departure[]>([]);
  const [deciding, setDeciding] = createSignal<{ target: DecisionTarget; decision: 'approved' | 'denied' } | null>(null);
  const mayDecide = () => can('request:decide');
  let pending: Parameters<Parameters<typeof onEvents>[0]>[0] = [];
  let list!: HTMLOListElement;

  const complete = () => cursor() === null;
  const apply = (events: typeof pending) => {
    // Measured (Performance API) so the benchmark can read what each live update costs.
    const started = performance.now();
    const r = applyEvents(items(), events, { complete: complete() });
    const before = items()[selected()]?.id;
    setItems(r.items);
    setTotal((t) => Math.max(0, t + r.delta));
    // Keep the highlighted row under the reviewer's eyes when rows come and go above it.
    const at = before ? r.items.findIndex((i) => i.id === before) : -1;
    if (at >= 0) setSelected(at);
    else setSelected((s) => Math.min(s, Math.max(0, r.items.length - 1)));
    // This tab's own decisions are announced once, by onDecided, not again by their echo.
    const elsewhere = r.departed.filter((d) => !sentHere(d.id));
    if (elsewhere.length) {
      setDeparted((d) => [...elsewhere.reverse(), ...d].slice(0, 5));
      for (const d of elsewhere) notify(`${d.action} (${d.id}) ${d.status} by ${d.by}`);
    }
    if (events.length) performance.measure('queue-update', { start: started, end: performance.now(), detail: events.length });
  };

  const stopListening = onEvents((events) => {
    if (loading()) pending.push(...events);
    else apply(events);
  });
  onCleanup(stopListening);

  const loadPage = async (after: string | null) => {
    const page = await client.listRequests({ status: 'pending', sort: 'queue', limit: PAGE, ...(after ? { cursor: after } : {}) });
    return page;
  };

  onMount(async () => {
    try {
      // Subscribed first, read second: whatever happens between is in the stream.
      await streamReady();
      const page = await loadPage(null);
      setItems(page.requests.map(fromRequest));
      setTotal(page.pagination.total);
      setCursor(page.pagination.nextCursor);
      performance.mark('queue-rendered');
    } catch (err) {
      if (!handleAuthError(err)) setError(`Could not load the queue: ${errorText(err)}`);
    } finally {
      setLoading(false);
      if (pending.length) apply(pending.splice(0));
    }
  });

  const loadMore = async () => {
    const after = cursor();
    if (!after) return;
    try {
      const page = await loadPage(after);
      const known = new Set(items().map((i) => i.id));
      setItems([...items(), ...page.requests.map(fromRequest).filter((i) => !known.has(i.id))]);
      setCursor(page.pagination.nextCursor);
    } catch (err) {
      if (!handleAuthError(err)) setError(errorText(err));
    }
  };

  const openDecision = (decision: 'approved' | 'denied', item = items()[selected()]) => {
    if (!item || !mayDecide()) return;
    setDeciding({ target: { id: item.id, action: item.action, requireReason: !!item.policy?.requireReason }, decision });
  };

  const onDecided = (r: ApprovalRequest) => {
    setDeciding(null);
    // The stream removes it too; doing it now keeps the keyboard flow instant.
    apply([]);
    const at = items().findIndex((i) => i.id === r.id);
    if (at >= 0) {
      setItems(items().filter((i) => i.id !== r.id));
      setTotal((t) => Math.max(0, t - 1));
      setSelected((s) => Math.min(s, Math.max(0, items().length - 1)));
    }
    notify(`${r.action} (${r.id}) ${r.status}`);
  };

  const focusRow = (index: number) => {
    setSelected(index);
    const row = list?.querySelectorAll<HTMLElement>('li.row')[index];
    row?.focus();
    row?.scrollIntoView({ block: 'nearest' });
  };

  const onKey = (e: KeyboardEvent) => {
    if (deciding() || isTyping(e) || document.querySelector('.modal')) return;
    const n = items().length;
    if (!n) return;
    switch (e.key) {
      case 'j': case 'ArrowDown': e.preventDefault(); focusRow(Math.min(n - 1, selected() + 1)); break;
      case 'k': case 'ArrowUp': e.preventDefault(); focusRow(Math.max(0, selected() - 1)); break;
      case 'a': e.preventDefault(); openDecision('approved'); break;
      case 'd': e.preventDefault(); openDecision('denied'); break;
      case 'Enter': {
        const item = items()[selected()];
        if (item) { e.preventDefault(); navigate(`/requests/${item.id}`); }
        break;
      }
    }
  };
  window.addEventListener('keydown', onKey);
  onCleanup(() => window.removeEventListener('keydown', onKey));

  return (
    <section aria-labelledby="queue-title">
      <header class="page-head">
        <h1 id="queue-title">Queue</h1>
        <p class="muted" aria-live="polite"><span data-testid="pending-count">{total()}</span> pending</p>
      </header>
      <p class="muted keys-help">
        <kbd>j</kbd>/<kbd>k</kbd> move · <Show when={mayDecide()}><kbd>a</kbd> approve · <kbd>d</kbd> deny · </Show><kbd>Enter</kbd> opens
      </p>
      <ErrorNote error={error()} />
      <Show when={!loading()} fallback={<Skeleton rows={6} label="Loading the queue" />}>
        <Show when={items().length > 0} fallback={
          <Empty title="Nothing waits for a decision">
            <p>New requests appear here the moment an agent asks. To try it, create one:</p>
            <pre class="json">{`curl -X POST ${window.location.origin}/api/requests \\
  -H "Authorization: Bearer $AGENTGATE_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"action":"send_email","params":{"to":"a@example.com"},"urgency":"high"}'`}</pre>
          </Empty>
        }>
          <ol class="queue" ref={list} aria-label="Pending requests, most urgent first">
            <For each={items()}>
              {(item, i) => {
                const left = () => timeLeft(item.expiresAt, now());
                return (
                  <li
                    class={`row urgency-${item.urgency}`}
                    classList={{ selected: i() === selected() }}
                    tabIndex={i() === selected() ? 0 : -1}
                    aria-current={i() === selected() ? 'true' : undefined}
                    data-id={item.id}
                    onClick={() => setSelected(i())}
                    onFocus={() => setSelected(i())}
                  >
                    <div class="row-main">
                      <UrgencyBadge urgency={item.urgency} />
                      <A href={`/requests/${item.id}`} class="action">{item.action}</A>
                      <span class="muted small">{item.requester ? `from ${item.requester}` : ''}</span>
                    </div>
                    <div class="row-meta">
                      <span title={`Created ${item.createdAt}`}>waiting {age(item.createdAt, now())}</span>
                      <Show when={item.expiresAt}>
                        <span class={left() && left()!.ms < 5 * 60_000 ? 'expiring' : ''}>
                          {left() ? `expires in ${left()!.text}` : 'expired'}
                        </span>
                      </Show>
                      <Show when={item.policy?.requireReason}><span class="muted">reason required</span></Show>
                    </div>
                    <Show when={mayDecide()}>
                      <div class="row-actions">
                        <button class="btn approve small" onClick={(e) => { e.stopPropagation(); setSelected(i()); openDecision('approved', item); }} aria-label={`Approve ${item.action} ${item.id}`}>Approve</button>
                        <button class="btn deny small" onClick={(e) => { e.stopPropagation(); setSelected(i()); openDecision('denied', item); }} aria-label={`Deny ${item.action} ${item.id}`}>Deny</button>
                      </div>
                    </Show>
                  </li>
                );
              }}
            </For>
          </ol>
          <Show when={!complete()}>
            <button class="btn" onClick={loadMore}>Show {Math.min(PAGE, total() - items().length)} more of {total() - items().length} not shown</button>
          </Show>
        </Show>
      </Show>
      <Show when={departed().length > 0}>
        <section class="departed" aria-label="Recently decided elsewhere">
          <h2 class="small-title">Recently left the queue</h2>
          <ul>
            <For each={departed()}>
              {(d) => <li data-testid="departed"><A href={`/requests/${d.id}`}>{d.action}</A> — {d.status} by <strong>{d.by}</strong>{d.reason ? `: “${d.reason}”` : ''}</li>}
            </For>
          </ul>
        </section>
      </Show>
      <Show when={deciding()}>
        {(d) => <DecisionDialog target={d().target} decision={d().decision} onClose={() => setDeciding(null)} onDecided={onDecided} />}
      </Show>
    </section>
  );
}
