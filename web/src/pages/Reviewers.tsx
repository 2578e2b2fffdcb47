import { createSignal, For, onCleanup, onMount, Show } from 'solid-js';
import type { ApiKey, Reviewer, ReviewerInput } from '@agentgate/sdk';
import { client } from '../api.ts';
import { onEvents } from '../live.ts';
import { can } from '../session.ts';
import type { FieldErrors } from '../lib/fields.ts';
import { Empty, ErrorNote, Skeleton } from '../components/bits.tsx';
import { Confirm } from '../components/Confirm.tsx';
import { Modal } from '../components/Modal.tsx';
import { useManagedList } from '../lib/managed.ts';

const CHANNEL_NAMES = { slack: 'Slack', discord: 'Discord', email: 'Email' } as const;

/** The form's fields as typed; empty means "none" (sent as null). */
interface Draft {
  name: string; email: string; slackUserId: string; discordUserId: string; groups: string; preferredChannel: string; keyId: string;
}

const EMPTY: Draft = { name: '', email: '', slackUserId: '', discordUserId: '', groups: '', preferredChannel: '', keyId: '' };

const draftOf = (r: Reviewer): Draft => ({
  name: r.name, email: r.email ?? '', slackUserId: r.slackUserId ?? '', discordUserId: r.discordUserId ?? '',
  groups: r.groups.join(', '), preferredChannel: r.preferredChannel ?? '', keyId: r.keyId ?? '',
});

/** Groups are typed separated by commas or spaces; the server checks each name. */
const bodyOf = (d: Draft): ReviewerInput => ({
  name: d.name.trim(),
  email: d.email.trim() || null,
  slackUserId: d.slackUserId.trim() || null,
  discordUserId: d.discordUserId.trim() || null,
  groups: [...new Set(d.groups.split(/[\s,]+/).filter(Boolean))],
  preferredChannel: (d.preferredChannel || null) as ReviewerInput['preferredChannel'],
  keyId: d.keyId.trim() || null,
});

export default function Reviewers() {
  const list = useManagedList(() => client.listReviewers());
  const reviewers = list.data;
  // Which form the field errors belong to: the new-reviewer form, or the reviewer being edited.
  const [errorsOf, setErrorsOf] = createSignal<string | null>(null);
  const [editing, setEditing] = createSignal<Reviewer | null>(null);
  const [deleting, setDeleting] = createSignal<Reviewer | null>(null);
  const [createKey, setCreateKey] = createSignal(0);
  // Key names for the "linked key" column and picker, when this session may read keys.
  const [keys, setKeys] = createSignal<ApiKey[]>([]);
  const loadKeys = () => { if (can('key:manage')) client.listKeys().then(setKeys, () => setKeys([])); };
  onMount(loadKeys);
  // Reviewers changed anywhere (another tab, the API, the CLI) show here at once.
  onCleanup(onEvents((events) => {
    if (events.some((e) => e.streamType === 'reviewer')) void list.reload();
    if (events.some((e) => e.streamType === 'apikey')) loadKeys();
  }));

  const keyName = (id: string) => keys().find((k) => k.id === id)?.name;

  const create = async (d: Draft) => {
    setErrorsOf('new');
    // The form is drawn afresh once the reviewer exists: empty again, nothing left over.
    if (await list.submit(() => client.createReviewer(bodyOf(d)))) setCreateKey(createKey() + 1);
  };
  const save = async (r: Reviewer, d: Draft) => {
    setErrorsOf(r.id);
    if (await list.submit(() => client.updateReviewer(r.id, bodyOf(d)))) setEditing(null);
  };
  const toggle = (r: Reviewer) => list.act(() => client.updateReviewer(r.id, { disabled: !r.disabled }));
  const remove = (r: Reviewer) => {
    setDeleting(null);
    void list.act(() => client.deleteReviewer(r.id));
  };
  const errorsFor = (form: string): FieldErrors => (errorsOf() === form ? list.errors() : {});

  return (
    <section aria-labelledby="reviewers-title">
      <header class="page-head"><h1 id="reviewers-title">Reviewers</h1></header>
      <p class="muted small">The people who decide requests from Slack, Discord, email or a key linked to them. Rules name them as <code>reviewer:rev_…</code> and their groups as <code>group:name</code>.</p>
      <Show when={!editing()}><ErrorNote error={list.error()} /></Show>
      <Show when={createKey() + 1} keyed>
        <ReviewerForm title="New reviewer" idPrefix="new" initial={EMPTY} submitLabel="Add reviewer" keys={keys()} errors={errorsFor('new')} onSubmit={create} />
      </Show>

      <h2 id="directory-title">Directory</h2>
      <Show when={reviewers()} fallback={<Skeleton rows={3} label="Loading reviewers" />}>
        <Show when={reviewers()!.length} fallback={<Empty title="No reviewers yet"><p>Add the people who approve requests, with the Slack, Discord or email identity they answer from.</p></Empty>}>
          <div class="table-wrap">
            <table class="stack-table" aria-labelledby="directory-title">
              <thead><tr><th scope="col">Name</th><th scope="col">Reached at</th><th scope="col">Groups</th><th scope="col">Prefers</th><th scope="col">Linked key</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
              <tbody>
                <For each={reviewers()}>
                  {(r) => (
                    <tr data-reviewer={r.id}>
                      <td class="lead"><strong>{r.name}</strong><div class="muted small"><code class="breakable">{r.id}</code></div></td>
                      <td class="small" data-label="Reached at">
                        <Show when={r.email || r.slackUserId || r.discordUserId} fallback={<span class="muted">nowhere yet</span>}>
                          <dl class="identities">
                            <Show when={r.email}><dt>Email</dt><dd class="breakable">{r.email}</dd></Show>
                            <Show when={r.slackUserId}><dt>Slack</dt><dd><code>{r.slackUserId}</code></dd></Show>
                            <Show when={r.discordUserId}><dt>Discord</dt><dd><code>{r.discordUserId}</code></dd></Show>
                          </dl>
                        </Show>
                      </td>
                      <td class="small" data-label="Groups">{r.groups.length ? r.groups.join(', ') : <span class="muted">none</span>}</td>
                      <td data-label="Prefers">{r.preferredChannel ? CHANNEL_NAMES[r.preferredChannel as keyof typeof CHANNEL_NAMES] : <span class="muted">—</span>}</td>
                      <td class="small" data-label="Linked key">
                        <Show when={r.keyId} fallback={<span class="muted">none</span>}>
                          {(id) => <>{keyName(id()) ?? ''}<div class="muted"><code class="breakable">{id()}</code></div></>}
                        </Show>
                      </td>
                      <td data-label="State"><Show when={r.disabled} fallback="active"><span class="badge state-off">disabled</span></Show></td>
                      <td><div class="row-actions wrapping">
                        <button class="btn small" onClick={() => { list.setError(null); setEditing(r); }} aria-label={`Edit ${r.name}`}>Edit</button>
                        <button class="btn small" onClick={() => void toggle(r)} aria-label={`${r.disabled ? 'Enable' : 'Disable'} ${r.name}`}>{r.disabled ? 'Enable' : 'Disable'}</button>
                        <button class="btn small danger" onClick={() => setDeleting(r)} aria-label={`Delete ${r.name}`}>Delete</button>
                      </div></td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        </Show>
      </Show>

      <Show when={editing()} keyed>
        {(r) => (
          <Modal title={`Edit ${r.name}`} onClose={() => setEditing(null)}>
            <ErrorNote error={list.error()} />
            <ReviewerForm idPrefix="edit" initial={draftOf(r)} submitLabel="Save" keys={keys()} errors={errorsFor(r.id)}
              onSubmit={(d) => save(r, d)} onCancel={() => setEditing(null)} />
          </Modal>
        )}
      </Show>
      <Show when={deleting()}>
        {(r) => (
          <Confirm title={`Delete ${r().name}?`} confirm="Delete" onConfirm={() => remove(r())} onClose={() => setDeleting(null)}>
            <p>They are no longer notified and can no longer decide from Slack, Discord or email. Decisions they made keep their name in the audit log.</p>
          </Confirm>
        )}
      </Show>
    </section>
  );
}

/** The create and edit form: the server's validation errors appear at their fields. */
function ReviewerForm(props: {
  title?: string; idPrefix: string; initial: Draft; submitLabel: string; keys: ApiKey[]; errors: FieldErrors;
  onSubmit: (d: Draft) => Promise<void>; onCancel?: () => void;
}) {
  const [draft, setDraft] = createSignal<Draft>({ ...props.initial });
  const [busy, setBusy] = createSignal(false);
  const set = (field: keyof Draft) => (e: { currentTarget: HTMLInputElement | HTMLSelectElement }) => setDraft({ ...draft(), [field]: e.currentTarget.value });
  const id = (field: string) => `${props.idPrefix}-${field}`;
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await props.onSubmit(draft());
    } finally {
      setBusy(false);
    }
  };
  const activeKeys = () => props.keys.filter((k) => !k.revoked);

  /** The field's label, input, help and errors, tied together for assistive technology. */
  const Field = (p: { name: keyof Draft; label: string; help?: string; type?: string; placeholder?: string; required?: boolean; list?: string }) => {
    const errs = () => props.errors[p.name];
    const described = () => [errs() ? `${id(p.name)}-err` : '', p.help ? `${id(p.name)}-help` : ''].filter(Boolean).join(' ') || undefined;
    return (
      <div class="field">
        <label for={id(p.name)}>{p.label}</label>
        <input id={id(p.name)} type={p.type ?? 'text'} value={draft()[p.name]} onInput={set(p.name)} placeholder={p.placeholder} required={p.required}
          list={p.list} autocomplete="off" spellcheck={false} aria-invalid={errs() ? 'true' : undefined} aria-describedby={described()} />
        <Show when={p.help}><p class="muted small hint" id={`${id(p.name)}-help`}>{p.help}</p></Show>
        <Show when={errs()}><p class="field-error" id={`${id(p.name)}-err`} role="alert">{errs()!.join('; ')}</p></Show>
      </div>
    );
  };

  return (
    <form class={props.title ? 'card' : ''} onSubmit={submit} aria-labelledby={props.title ? `${props.idPrefix}-title` : undefined} aria-label={props.title ? undefined : 'Reviewer'} novalidate>
      <Show when={props.title}><h2 id={`${props.idPrefix}-title`}>{props.title}</h2></Show>
      <div class="form-grid">
        <Field name="name" label="Name" required placeholder="e.g. Ana Lima" />
        <Field name="email" label="Email" type="email" placeholder="ana@example.com" help="Where email notifications and sign-in links go." />
        <Field name="slackUserId" label="Slack member id" placeholder="U024BE7LH" help="U… or W…, from the person's Slack profile." />
        <Field name="discordUserId" label="Discord user id" placeholder="80351110224678912" help="The 15–21 digit id (Developer Mode → Copy User ID)." />
        <Field name="groups" label="Groups" placeholder="finance, on-call" help="Lowercase names, separated by commas." />
        <div class="field">
          <label for={id('preferredChannel')}>Preferred channel</label>
          <select id={id('preferredChannel')} value={draft().preferredChannel} onChange={set('preferredChannel')}
            aria-invalid={props.errors.preferredChannel ? 'true' : undefined}
            aria-describedby={props.errors.preferredChannel ? `${id('preferredChannel')}-err` : `${id('preferredChannel')}-help`}>
            <option value="">none</option>
            <option value="slack">Slack</option>
            <option value="discord">Discord</option>
            <option value="email">Email</option>
          </select>
          <p class="muted small hint" id={`${id('preferredChannel')}-help`}>How a <code>group:</code> destination reaches them.</p>
          <Show when={props.errors.preferredChannel}><p class="field-error" id={`${id('preferredChannel')}-err`} role="alert">{props.errors.preferredChannel!.join('; ')}</p></Show>
        </div>
        <Field name="keyId" label="Linked API key" placeholder="key_…" list={activeKeys().length ? `${props.idPrefix}-keys` : undefined}
          help="The key they decide with from the CLI or the API: one person in the audit log." />
      </div>
      <Show when={activeKeys().length}>
        <datalist id={`${props.idPrefix}-keys`}><For each={activeKeys()}>{(k) => <option value={k.id}>{k.name}</option>}</For></datalist>
      </Show>
      <For each={props.errors._}>{(m) => <p class="field-error" role="alert">{m}</p>}</For>
      <div class={props.onCancel ? 'actions' : 'actions left'}>
        <Show when={props.onCancel}><button type="button" class="btn" onClick={() => props.onCancel!()}>Cancel</button></Show>
        <button class="btn primary" type="submit" disabled={busy()}>{props.submitLabel}</button>
      </div>
    </form>
  );
}
