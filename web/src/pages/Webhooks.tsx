import { createSignal, For, onCleanup, onMount, Show } from 'solid-js';
import { A, useParams } from '@solidjs/router';
import type { CreatedWebhook, Webhook, WebhookDelivery, WebhookEvent } from '@agentgate/sdk';
import { client, errorText } from '../api.ts';
import { onEvents } from '../live.ts';
import { handleAuthError } from '../session.ts';
import { fieldErrors, type FieldErrors } from '../lib/fields.ts';
import { dateTime } from '../lib/time.ts';
import { CopyButton, Empty, ErrorNote, Skeleton } from '../components/bits.tsx';
import { Modal } from '../components/Modal.tsx';

const EVENTS = ['request.created', 'request.decided', 'request.expired', 'request.cancelled', 'policy.changed', '*'];

export default function Webhooks() {
  const params = useParams<{ id?: string }>();
  return <Show when={params.id} keyed fallback={<WebhookList />}>{(id) => <WebhookDeliveries id={id} />}</Show>;
}

function WebhookList() {
  const [hooks, setHooks] = createSignal<Webhook[] | null>(null);
  const [error, setError] = createSignal<string | null>(null);
  const [url, setUrl] = createSignal('');
  const [events, setEvents] = createSignal<string[]>(['request.created', 'request.decided']);
  const [errors, setErrors] = createSignal<FieldErrors>({});
  const [created, setCreated] = createSignal<CreatedWebhook | null>(null);
  const [deleting, setDeleting] = createSignal<Webhook | null>(null);
  const [note, setNote] = createSignal<string | null>(null);

  const load = async () => {
    try {
      setHooks(await client.listWebhooks());
    } catch (err) {
      if (!handleAuthError(err)) setError(errorText(err));
    }
  };
  onMount(() => void load());
  onCleanup(onEvents((evs) => { if (evs.some((e) => e.streamType === 'webhook' && !e.eventType.startsWith('webhook.delivery'))) void load(); }));

  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      await load();
    } catch (err) {
      if (!handleAuthError(err)) setError(errorText(err));
    }
  };

  const create = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    setError(null);
    try {
      setCreated(await client.createWebhook({ url: url().trim(), events: events() as WebhookEvent[] }));
      setUrl('');
      await load();
    } catch (err) {
      if (handleAuthError(err)) return;
      const f = fieldErrors(err);
      setErrors(f);
      if (!Object.keys(f).length) setError(errorText(err));
    }
  };

  const test = (w: Webhook) => act(async () => {
    const r = await client.testWebhook(w.id);
    setNote(`${w.url}: ${r.message}${r.status ? ` (HTTP ${r.status}, ${r.durationMs} ms)` : ''}`);
  });

  return (
    <section aria-labelledby="hooks-title">
      <header class="page-head"><h1 id="hooks-title">Webhooks</h1></header>
      <ErrorNote error={error()} />
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
          <Modal title="Webhook created" onClose={() => setCreated(null)} describedBy="secret-warning">
            <p id="secret-warning" class="info-note"><strong>Copy the signing secret now: it is shown only this once.</strong> Use it to verify X-AgentGate-Signature.</p>
            <p class="key-once"><code class="wrap" data-testid="webhook-secret">{w().secret}</code> <CopyButton text={w().secret} label="Copy the signing secret" /></p>
            <div class="actions"><button class="btn primary" onClick={() => setCreated(null)}>I have copied it</button></div>
          </Modal>
        )}
      </Show>
      <Show when={deleting()}>
        {(w) => (
          <Modal title="Delete this webhook?" onClose={() => setDeleting(null)}>
            <p class="wrap">{w().url} will receive nothing more.</p>
            <div class="actions">
              <button class="btn" autofocus onClick={() => setDeleting(null)}>Keep it</button>
              <button class="btn deny" onClick={() => { const id = w().id; setDeleting(null); void act(() => client.deleteWebhook(id)); }}>Delete</button>
            </div>
          </Modal>
        )}
      </Show>
    </section>
  );
}

function WebhookDeliveries(props: { id: string }) {
  const [deliveries, setDeliveries] = createSignal<WebhookDelivery[] | null>(null);
  const [error, setError] = createSignal<string | null>(null);
  const load = async () => {
    try {
      setDeliveries((await client.listDeliveries(props.id)).deliveries);
    } catch (err) {
      if (!handleAuthError(err)) setError(errorText(err));
    }
  };
  onMount(() => void load());
  // Attempts land live: every delivery event of this webhook refreshes the history.
  onCleanup(onEvents((evs) => { if (evs.some((e) => e.streamId === `webhook-${props.id}`)) void load(); }));
  const redeliver = async (d: WebhookDelivery) => {
    try {
      await client.redeliver(props.id, d.id);
      await load();
    } catch (err) {
      if (!handleAuthError(err)) setError(errorText(err));
    }
  };
  return (
    <section aria-labelledby="deliveries-title">
      <p class="crumbs"><A href="/webhooks">Webhooks</A> / <code>{props.id}</code></p>
      <h1 id="deliveries-title">Deliveries</h1>
      <ErrorNote error={error()} />
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
