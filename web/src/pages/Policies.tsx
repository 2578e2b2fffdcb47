import { createSignal, For, onMount, Show } from 'solid-js';
import { A, useNavigate, useParams } from '@solidjs/router';
import type { Policy, PolicyInput, PolicyTrial } from '@agentgate/sdk';
import { client, errorText } from '../api.ts';
import { can, handleAuthError } from '../session.ts';
import { fieldErrors, type FieldErrors } from '../lib/fields.ts';
import { Empty, ErrorNote, Skeleton } from '../components/bits.tsx';
import { Confirm } from '../components/Confirm.tsx';
import { useManagedList } from '../lib/managed.ts';

const EXAMPLE_RULES = [{ match: { action: 'send_email', 'params.to': { $regex: '@example\\.com$' } }, decision: 'auto_approve' }];

export default function Policies() {
  const params = useParams<{ id?: string }>();
  return <Show when={params.id} keyed fallback={<PolicyList />}>{(id) => <PolicyEditor id={id} />}</Show>;
}

function PolicyList() {
  const list = useManagedList(() => client.listPolicies());
  const [deleting, setDeleting] = createSignal<Policy | null>(null);
  const policies = list.data;
  const toggle = (p: Policy) => list.act(() => client.updatePolicy(p.id, { ...p, enabled: !p.enabled }));
  const remove = (p: Policy) => {
    setDeleting(null);
    void list.act(() => client.deletePolicy(p.id));
  };

  return (
    <section aria-labelledby="policies-title">
      <header class="page-head">
        <h1 id="policies-title">Policies</h1>
        <Show when={can('policy:write')}><A class="btn primary" href="/policies/new">New policy</A></Show>
      </header>
      <p class="muted small">Evaluated by priority (lowest first); the first matching rule decides; no match routes to a person.</p>
      <ErrorNote error={list.error()} />
      <Show when={policies()} fallback={<Skeleton rows={4} label="Loading policies" />}>
        <Show when={policies()!.length} fallback={<Empty title="No policies yet"><p>Every request goes to a person until a policy says otherwise. Create one to auto-approve the routine and auto-deny the forbidden.</p></Empty>}>
          <div class="table-wrap">
            <table>
              <thead><tr><th scope="col">Priority</th><th scope="col">Name</th><th scope="col">Rules</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
              <tbody>
                <For each={policies()}>
                  {(p) => (
                    <tr>
                      <td>{p.priority}</td>
                      <td><A href={`/policies/${p.id}`}>{p.name}</A> <span class="muted small">v{p.version}</span></td>
                      <td>{p.rules.length}</td>
                      <td>{p.enabled ? 'enabled' : 'disabled'}</td>
                      <td class="row-actions">
                        <Show when={can('policy:write')}>
                          <button class="btn small" onClick={() => void toggle(p)} aria-label={`${p.enabled ? 'Disable' : 'Enable'} ${p.name}`}>{p.enabled ? 'Disable' : 'Enable'}</button>
                          <button class="btn small danger" onClick={() => setDeleting(p)} aria-label={`Delete ${p.name}`}>Delete</button>
                        </Show>
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        </Show>
      </Show>
      <Show when={deleting()}>
        {(p) => (
          <Confirm title={`Delete ${p().name}?`} confirm="Delete" onConfirm={() => remove(p())} onClose={() => setDeleting(null)}>
            <p>Requests it would have decided go to the next policy, or to a person. Its history stays in the audit log.</p>
          </Confirm>
        )}
      </Show>
    </section>
  );
}

function PolicyEditor(props: { id: string }) {
  const navigate = useNavigate();
  const isNew = props.id === 'new';
  const [loaded, setLoaded] = createSignal(isNew);
  const [name, setName] = createSignal('');
  const [description, setDescription] = createSignal('');
  const [priority, setPriority] = createSignal('100');
  const [enabled, setEnabled] = createSignal(true);
  const [rulesText, setRulesText] = createSignal(JSON.stringify(EXAMPLE_RULES, null, 2));
  const [errors, setErrors] = createSignal<FieldErrors>({});
  const [error, setError] = createSignal<string | null>(null);
  const [saved, setSaved] = createSignal<string | null>(null);
  // The common rule shape, appended to the JSON.
  const [ruleAction, setRuleAction] = createSignal('');
  const [ruleDecision, setRuleDecision] = createSignal('route_to_human');
  const [ruleApprovers, setRuleApprovers] = createSignal('');
  const [ruleReason, setRuleReason] = createSignal(false);
  // The test box.
  const [sample, setSample] = createSignal(JSON.stringify({ action: 'send_email', params: { to: 'ana@example.com' }, context: {} }, null, 2));
  const [trial, setTrial] = createSignal<PolicyTrial | null>(null);
  const [trialErrors, setTrialErrors] = createSignal<FieldErrors>({});
  const [trialError, setTrialError] = createSignal<string | null>(null);
  const readOnly = () => !can('policy:write');

  onMount(async () => {
    if (isNew) return;
    try {
      const p = await client.getPolicy(props.id);
      setName(p.name);
      setDescription(p.description ?? '');
      setPriority(String(p.priority));
      setEnabled(p.enabled);
      setRulesText(JSON.stringify(p.rules, null, 2));
      setLoaded(true);
    } catch (err) {
      if (!handleAuthError(err)) setError(errorText(err));
    }
  });

  /** The draft as the API takes it; a JSON syntax error is reported at the rules field. */
  const draft = (): PolicyInput | null => {
    let rules: unknown;
    try {
      rules = JSON.parse(rulesText());
    } catch (err) {
      setErrors({ rules: [`not valid JSON: ${(err as Error).message}`] });
      return null;
    }
    const p = Number(priority());
    return { name: name(), description: description() || null, priority: Number.isInteger(p) ? p : (priority() as unknown as number), enabled: enabled(), rules: rules as PolicyInput['rules'] };
  };

  const save = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    setError(null);
    setSaved(null);
    const body = draft();
    if (!body) return;
    try {
      const p = isNew ? await client.createPolicy(body) : await client.updatePolicy(props.id, body);
      setSaved(`Saved: version ${p.version}`);
      if (isNew) navigate(`/policies/${p.id}`, { replace: true });
    } catch (err) {
      if (handleAuthError(err)) return;
      const fields = fieldErrors(err);
      setErrors(fields);
      if (!Object.keys(fields).length) setError(errorText(err));
    }
  };

  const addRule = () => {
    let rules: unknown[];
    try {
      rules = JSON.parse(rulesText());
      if (!Array.isArray(rules)) rules = [];
    } catch {
      rules = [];
    }
    const approvers = ruleApprovers().split(',').map((s) => s.trim()).filter(Boolean);
    rules.push({
      match: { action: ruleAction() || '*' }, decision: ruleDecision(),
      ...(approvers.length ? { approvers } : {}), ...(ruleReason() ? { requireReason: true } : {}),
    });
    setRulesText(JSON.stringify(rules, null, 2));
  };

  const runTrial = async () => {
    setTrial(null);
    setTrialErrors({});
    setTrialError(null);
    setErrors({});
    const policy = draft();
    if (!policy) return;
    let request: { action: string; params?: Record<string, unknown>; context?: Record<string, unknown> };
    try {
      request = JSON.parse(sample());
    } catch (err) {
      setTrialError(`The sample is not valid JSON: ${(err as Error).message}`);
      return;
    }
    try {
      setTrial(await client.testPolicy({ policy, request, ...(isNew ? {} : { replaces: props.id }) }));
    } catch (err) {
      if (handleAuthError(err)) return;
      const policyFields = fieldErrors(err, 'body.policy.');
      if (Object.keys(policyFields).some((k) => k !== '_' && k !== 'body')) setErrors(policyFields);
      else setTrialError(errorText(err));
      setTrialErrors(fieldErrors(err, 'body.request.'));
    }
  };

  const FieldError = (p: { name: string }) => (
    <Show when={errors()[p.name]}>
      <For each={errors()[p.name]}>{(m) => <p class="field-error" id={`err-${p.name}`} role="alert">{m}</p>}</For>
    </Show>
  );
  const invalid = (f: string) => (errors()[f] ? 'true' : undefined);

  return (
    <section aria-labelledby="policy-title">
      <p class="crumbs"><A href="/policies">Policies</A> / {isNew ? 'new' : <code>{props.id}</code>}</p>
      <h1 id="policy-title">{isNew ? 'New policy' : name() || 'Policy'}</h1>
      <ErrorNote error={error()} />
      <Show when={loaded()} fallback={<Show when={!error()}><Skeleton rows={6} label="Loading the policy" /></Show>}>
        <div class="grid2">
          <form onSubmit={save} aria-label="Policy">
            <fieldset disabled={readOnly()} class="plain">
              <label for="p-name">Name</label>
              <input id="p-name" value={name()} onInput={(e) => setName(e.currentTarget.value)} required aria-invalid={invalid('name')} aria-describedby={errors().name ? 'err-name' : undefined} />
              <FieldError name="name" />
              <label for="p-desc">Description</label>
              <input id="p-desc" value={description()} onInput={(e) => setDescription(e.currentTarget.value)} />
              <label for="p-priority">Priority (lower runs first)</label>
              <input id="p-priority" type="number" value={priority()} onInput={(e) => setPriority(e.currentTarget.value)} aria-invalid={invalid('priority')} aria-describedby={errors().priority ? 'err-priority' : undefined} />
              <FieldError name="priority" />
              <label class="check"><input type="checkbox" checked={enabled()} onChange={(e) => setEnabled(e.currentTarget.checked)} /> Enabled</label>
              <label for="p-rules">Rules (JSON)</label>
              <textarea id="p-rules" class="code" rows={14} spellcheck={false} value={rulesText()} onInput={(e) => setRulesText(e.currentTarget.value)}
                aria-invalid={invalid('rules')} aria-describedby={errors().rules ? 'err-rules' : 'rules-help'} />
              <FieldError name="rules" />
              <p id="rules-help" class="muted small">Each rule: <code>match</code> (dot paths over action, urgency, params, context; operators $in $lt $gt $regex $exists …), <code>decision</code> (auto_approve, auto_deny, route_to_human), optional <code>approvers</code>, <code>channels</code>, <code>requireReason</code>.</p>
              <details class="card">
                <summary>Add a common rule</summary>
                <label for="r-action">Action (glob)</label>
                <input id="r-action" value={ruleAction()} onInput={(e) => setRuleAction(e.currentTarget.value)} placeholder="e.g. deploy_*" />
                <label for="r-decision">Decision</label>
                <select id="r-decision" value={ruleDecision()} onChange={(e) => setRuleDecision(e.currentTarget.value)}>
                  <option value="route_to_human">route to a person</option>
                  <option value="auto_approve">approve at once</option>
                  <option value="auto_deny">deny at once</option>
                </select>
                <label for="r-approvers">Approvers (comma-separated key_… or reviewer:…)</label>
                <input id="r-approvers" value={ruleApprovers()} onInput={(e) => setRuleApprovers(e.currentTarget.value)} />
                <label class="check"><input type="checkbox" checked={ruleReason()} onChange={(e) => setRuleReason(e.currentTarget.checked)} /> Require a reason</label>
                <div class="actions left"><button type="button" class="btn" onClick={addRule}>Add to rules</button></div>
              </details>
              <div class="actions left">
                <button class="btn primary" type="submit">{isNew ? 'Create policy' : 'Save'}</button>
                <span class="muted" role="status">{saved()}</span>
              </div>
            </fieldset>
          </form>
          <section aria-labelledby="trial-title" class="card">
            <h2 id="trial-title">Test this policy</h2>
            <p class="muted small">Evaluates a sample request against the draft as written, without saving it.</p>
            <label for="t-sample">Sample request (JSON)</label>
            <textarea id="t-sample" class="code" rows={7} spellcheck={false} value={sample()} onInput={(e) => setSample(e.currentTarget.value)} />
            <For each={Object.values(trialErrors()).flat()}>{(m) => <p class="field-error" role="alert">{m}</p>}</For>
            <ErrorNote error={trialError()} />
            <div class="actions left"><button type="button" class="btn" onClick={() => void runTrial()}>Test</button></div>
            <Show when={trial()}>
              {(r) => (
                <div role="status" data-testid="trial-result">
                  <p><strong>This policy alone:</strong> {r().draft.matched ? `rule ${r().draft.ruleIndex} matches → ${r().draft.decision.replace(/_/g, ' ')}` : 'no rule matches'}</p>
                  <p><strong>With the saved policies:</strong> {r().effective.decision.replace(/_/g, ' ')} — {r().effective.byDraft ? 'decided by this policy' : r().effective.reason}</p>
                  <Show when={r().effective.approvers.length}><p class="small">Approvers: {r().effective.approvers.join(', ')}</p></Show>
                  <Show when={r().effective.requireReason}><p class="small">A reason is required.</p></Show>
                </div>
              )}
            </Show>
          </section>
        </div>
      </Show>
    </section>
  );
}
