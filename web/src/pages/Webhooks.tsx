import { createSignal, For, onCleanup, Show } from 'solid-js';
import { A, useParams } from '@solidjs/router';
import type { CreatedWebhook, Webhook, WebhookDelivery, WebhookEvent } from '@agentgate/sdk';
import { client } from '../api.ts';
import { onEvents } from '../live.ts';
import { dateTime } from '../lib/time.ts';
import { Empty, ErrorNote, Skeleton } from '../components/bits.tsx';
import { Confirm, ShownOnce } from '../components/Confirm.tsx';
import { useManagedList } from '../lib/managed.ts';

const EVENTS = ['request.created', 'request.decided', 'request.expired', 'request.cancelled', 'policy.changed', '*'];

export default function Webhooks() {
  const params = useParams<{ id?: string }>();
  return <Show when={params.id} keyed fallback={<WebhookList />}>{(id) => <WebhookDeliveries id={id} />}</Show>;
}

function WebhookList() {
  const list = useManagedList(() => client.listWebhooks());
  const hooks = list.data;
  const errors = list.errors;
  const act = list.act;
  const [url, setUrl] = createSignal('');
  const [events, setEvents] = createSignal<string[]>(['request.created', 'request.decided']);
  const [created, setCreated] = createSignal<CreatedWebhook | null>(null);
  const [deleting, setDeleting] = createSignal<Webhook | null>(null);
  const [note, setNote] = createSignal<string | null>(null);
  onCleanup(onEvents((evs) => { if (evs.some((e) => e.streamType === 'webhook' && !e.eventType.startsWith('webhook.delivery'))) void list.reload(); }));

  const create = (e: Event) => {
    e.preventDefault();
    void list.submit(async () => {
      setCreated(await client.createWebhook({ url: url().trim(), events: events() as WebhookEvent[] }));
      setUrl('');
    });
  };

  const test = (w: Webhook) => act(async () => {
    const r = await client.testWebhook(w.id);
    setNote(`${w.url}: ${r.message}${r.status ? ` (HTTP ${r.status}, ${r.durationMs} ms)` : ''}`);
  });

  return (
    <section aria-labelledby="hooks-title">
      <header class="page-head"><h1 id="hooks-title">Webhooks</h1></header>
      <ErrorNote error={list.error()} />
      <Show when={note()}><p class="info-note" role="status">{note()}</p></Show>
      <form class="card" onSubmit={create} aria-labelledby="new-hook-title">
        <h2 id="new-hook-title">New webhook</h2>
        <label for="w-url">URL</label>
        <input id="w-url" type="url" required value={url()} onInput={(e) => setUrl(e.currentTarget.value)} placeholder="https://hooks.example.com/agentgate"
          aria-invalid={errors().url ? 'true' : undefined} />
        <For each={[...(errors().url ?? []), ...(errors()._ ?? [])]}>{(m) => <p class="field-error" role="alert">{m}</p>}</For>
        <fieldset class="plain scopes">
          <legend>Events</legend>
          <For each={EVENTS}>
            {(ev) => <label class="check"><input type="checkbox" checked={events().includes(ev)} onChange={(e) => setEvents(e.currentTarget.checked ? [...events(), ev] : events().filter((x) => x !== ev))} /> <code>{ev}</code></label>}
          </For>
        </fieldset>
        <For each={errors().events}>{(m) => <p class="field-error" role="alert">{m}</p>}</For>
        <div class="actions left"><button class="btn primary" type="submit">Create webhook</button></div>
      </form>
      <Show when={hooks()} fallback={<Skeleton rows={3} label="Loading webhooks" />}>
        <Show when={hooks()!.length} fallback={<Empty title="No webhooks"><p>Add one to have AgentGate POST signed events to your service as they happen.</p></Empty>}>
          <div class="table-wrap">
            <table>
              <thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
              <tbody>
                <For each={hooks()}>
                  {(w) => (
                    <tr>
                      <td class="wrap"><A href={`/webhooks/${w.id}`}>{w.url}</A></td>
                      <td class="small">{w.events.join(', ')}</td>
                      <td>{w.enabled ? 'enabled' : 'disabled'}</td>
                      <td class="row-actions">
                        <button class="btn small" onClick={() => void test(w)} aria-label={`Send test to ${w.url}`}>Send test</button>
                        <button class="btn small" onClick={() => void act(() => client.updateWebhook(w.id, { enabled: !w.enabled }))} aria-label={`${w.enabled ? 'Disable' : 'Enable'} ${w.url}`}>{w.enabled ? 'Disable' : 'Enable'}</button>
                        <button class="btn small danger" onClick={() => setDeleting(w)} aria-label={`Delete ${w.url}`}>Delete</button>
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        </Show>
      </Show>
      <Show when={created()}>
        {(w) => (
          <ShownOnce title="Webhook created" secret={w().secret} copyLabel="Copy the signing secret" testId="webhook-secret" onClose={() => setCreated(null)}
            warning={<><strong>Copy the signing secret now: it is shown only this once.</strong> Use it to verify X-AgentGate-Signature.</>} />
        )}
      </Show>
      <Show when={deleting()}>
        {(w) => (
          <Confirm title="Delete this webhook?" confirm="Delete" onConfirm={() => { const id = w().id; setDeleting(null); void act(() => client.deleteWebhook(id)); }} onClose={() => setDeleting(null)}>
            <p class="wrap">{w().url} will receive nothing more.</p>
          </Confirm>
        )}
      </Show>
    </section>
  );
}

function WebhookDeliveries(props: { id: string }) {
  const list = useManagedList(async () => (await client.listDeliveries(props.id)).deliveries);
  const deliveries = list.data;
  // Attempts land live: every delivery event of this webhook refreshes the history.
  onCleanup(onEvents((evs) => { if (evs.some((e) => e.streamId === `webhook-${props.id}`)) void list.reload(); }));
  const redeliver = (d: WebhookDelivery) => list.act(() => client.redeliver(props.id, d.id));
  return (
    <section aria-labelledby="deliveries-title">
      <p class="crumbs"><A href="/webhooks">Webhooks</A> / <code>{props.id}</code></p>
      <h1 id="deliveries-title">Deliveries</h1>
      <ErrorNote error={list.error()} />
      <Show when={deliveries()} fallback={<Skeleton rows={4} label="Loading deliveries" />}>
        <Show when={deliveries()!.length} fallback={<Empty title="Nothing delivered yet"><p>Deliveries appear here as events happen; “Send test” on the webhooks page sends one now.</p></Empty>}>
          <div class="table-wrap">
            <table>
              <thead><tr><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last answer</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
              <tbody>
                <For each={deliveries()}>
                  {(d) => (
                    <tr>
                      <td><code>{d.event}</code><div class="muted small"><code>{d.id}</code>{d.redeliveryOf ? ` (again of ${d.redeliveryOf})` : ''}</div></td>
                      <td>{d.status}{d.nextAttemptAt ? <div class="muted small">next try {dateTime(d.nextAttemptAt)}</div> : ''}</td>
                      <td>
                        {d.attempts}
                        <ol class="small attempts">
                          <For each={d.history}>{(a) => <li>{a.ok ? 'ok' : 'failed'} {a.statusCode ? `HTTP ${a.statusCode}` : a.error ?? ''} · {a.durationMs} ms</li>}</For>
                        </ol>
                      </td>
                      <td>{d.lastStatusCode ? `HTTP ${d.lastStatusCode}` : d.lastError ?? '—'}</td>
                      <td><button class="btn small" onClick={() => void redeliver(d)} aria-label={`Redeliver ${d.id}`}>Redeliver</button></td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        </Show>
      </Show>
    </section>
  );
}
