import { createSignal, For, onCleanup, Show } from 'solid-js';
import type { ApiKey, CreatedKey } from '@agentgate/sdk';
import { client } from '../api.ts';
import { onEvents } from '../live.ts';
import { session } from '../session.ts';
import { dateTime } from '../lib/time.ts';
import { ErrorNote, Skeleton } from '../components/bits.tsx';
import { Confirm, ShownOnce } from '../components/Confirm.tsx';
import { useManagedList } from '../lib/managed.ts';

const SCOPES = ['request:create', 'request:read', 'request:decide', 'policy:read', 'policy:write', 'webhook:manage', 'key:manage', 'reviewer:manage', 'audit:read', 'admin'];

export default function Keys() {
  const [showRevoked, setShowRevoked] = createSignal(false);
  const list = useManagedList(() => client.listKeys({ includeRevoked: showRevoked() }));
  const keys = list.data;
  const errors = list.errors;
  const [created, setCreated] = createSignal<CreatedKey | null>(null);
  const [revoking, setRevoking] = createSignal<ApiKey | null>(null);
  const [name, setName] = createSignal('');
  const [scopes, setScopes] = createSignal<string[]>(['request:create', 'request:read']);
  const [rateLimit, setRateLimit] = createSignal('');
  // Keys changed anywhere (another tab, the CLI) show here at once.
  onCleanup(onEvents((events) => { if (events.some((e) => e.streamType === 'apikey')) void list.reload(); }));

  const create = (e: Event) => {
    e.preventDefault();
    const limit = rateLimit().trim();
    void list.submit(async () => {
      setCreated(await client.createKey({ name: name().trim(), scopes: scopes() as never, rateLimit: limit ? Number(limit) : null }));
      setName('');
    });
  };

  const revoke = (k: ApiKey) => {
    setRevoking(null);
    void list.act(() => client.revokeKey(k.id));
  };

  const toggleScope = (s: string, on: boolean) => setScopes(on ? [...scopes(), s] : scopes().filter((x) => x !== s));

  return (
    <section aria-labelledby="keys-title">
      <header class="page-head"><h1 id="keys-title">API keys</h1></header>
      <ErrorNote error={list.error()} />
      <form class="card" onSubmit={create} aria-labelledby="new-key-title">
        <h2 id="new-key-title">New key</h2>
        <label for="k-name">Name</label>
        <input id="k-name" value={name()} onInput={(e) => setName(e.currentTarget.value)} required placeholder="e.g. billing-agent"
          aria-invalid={errors().name ? 'true' : undefined} />
        <For each={errors().name}>{(m) => <p class="field-error" role="alert">{m}</p>}</For>
        <fieldset class="plain scopes">
          <legend>Scopes</legend>
          <For each={SCOPES}>
            {(s) => <label class="check"><input type="checkbox" checked={scopes().includes(s)} onChange={(e) => toggleScope(s, e.currentTarget.checked)} /> <code>{s}</code></label>}
          </For>
        </fieldset>
        <For each={[...(errors().scopes ?? []), ...(errors()._ ?? [])]}>{(m) => <p class="field-error" role="alert">{m}</p>}</For>
        <label for="k-limit">Rate limit (requests per minute; empty = unlimited)</label>
        <input id="k-limit" type="number" min="1" value={rateLimit()} onInput={(e) => setRateLimit(e.currentTarget.value)} aria-invalid={errors().rateLimit ? 'true' : undefined} />
        <For each={errors().rateLimit}>{(m) => <p class="field-error" role="alert">{m}</p>}</For>
        <div class="actions left"><button class="btn primary" type="submit">Create key</button></div>
      </form>

      <div class="actions left">
        <label class="check"><input type="checkbox" checked={showRevoked()} onChange={(e) => { setShowRevoked(e.currentTarget.checked); void list.reload(); }} /> Show revoked keys</label>
      </div>
      <Show when={keys()} fallback={<Skeleton rows={4} label="Loading keys" />}>
        <div class="table-wrap">
          <table>
            <thead><tr><th scope="col">Name</th><th scope="col">Scopes</th><th scope="col">Rate limit</th><th scope="col">Last used</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
            <tbody>
              <For each={keys()}>
                {(k) => (
                  <tr data-key={k.id}>
                    <td>{k.name}<div class="muted small"><code>{k.prefix}…</code>{k.id === session()?.subject.id ? ' (this session)' : ''}</div></td>
                    <td class="small">{k.scopes.join(', ')}</td>
                    <td>{k.rateLimit === null ? 'unlimited' : `${k.rateLimit}/min`}</td>
                    <td>{k.lastUsedAt ? dateTime(k.lastUsedAt) : 'never'}</td>
                    <td>{k.revoked ? `revoked ${k.revokedAt ? dateTime(k.revokedAt) : ''}` : 'active'}</td>
                    <td><Show when={!k.revoked}><button class="btn small danger" onClick={() => setRevoking(k)} aria-label={`Revoke ${k.name}`}>Revoke</button></Show></td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
      </Show>

      <Show when={created()}>
        {(k) => (
          <ShownOnce title={`Key “${k().name}” created`} secret={k().key} copyLabel="Copy the new key" testId="new-key" onClose={() => setCreated(null)}
            warning={<><strong>Copy it now: it is shown only this once.</strong> AgentGate keeps only its hash.</>} />
        )}
      </Show>
      <Show when={revoking()}>
        {(k) => (
          <Confirm title={`Revoke ${k().name}?`} confirm="Revoke" onConfirm={() => revoke(k())} onClose={() => setRevoking(null)}>
            <p>It stops working at once, on every server; its dashboard sessions end and its live streams close.</p>
          </Confirm>
        )}
      </Show>
    </section>
  );
}
