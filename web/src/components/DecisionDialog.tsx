import { createSignal, Show } from 'solid-js';
import type { ApprovalRequest } from '@agentgate/sdk';
import { AgentGateError, client, errorText } from '../api.ts';
import { handleAuthError } from '../session.ts';
import { markSentHere, unmarkSentHere } from '../lib/sent-here.ts';
import { Modal } from './Modal.tsx';

/** The server's refusals, said the way a reviewer needs to hear them. */
export function refusalText(err: unknown): string {
  if (!(err instanceof AgentGateError)) return errorText(err);
  switch (err.code) {
    case 'SELF_APPROVAL_FORBIDDEN': return `Four-eyes rule: ${err.message}. Someone else must decide it.`;
    case 'NOT_AN_APPROVER': return `You are not an approver of this request: ${err.message}.`;
    case 'ALREADY_DECIDED': return `Already decided: ${err.message}.`;
    case 'REQUEST_EXPIRED': return `Too late: ${err.message}.`;
    case 'REASON_REQUIRED': return 'This request needs a reason for the decision.';
    case 'FORBIDDEN': return `Not allowed: ${err.message}.`;
    default: return err.message;
  }
}

export interface DecisionTarget {
  id: string;
  action: string;
  requireReason: boolean;
}

export function DecisionDialog(props: {
  target: DecisionTarget;
  decision: 'approved' | 'denied';
  onClose: () => void;
  onDecided: (r: ApprovalRequest) => void;
}) {
  const [reason, setReason] = createSignal('');
  const [error, setError] = createSignal<string | null>(null);
  const [busy, setBusy] = createSignal(false);
  let reasonBox!: HTMLTextAreaElement;
  const verb = () => (props.decision === 'approved' ? 'Approve' : 'Deny');

  const submit = async (e?: Event) => {
    e?.preventDefault();
    if (busy()) return;
    const text = reason().trim();
    if (props.target.requireReason && !text) {
      setError('The matching rule requires a reason: write one to decide.');
      return;
    }
    setBusy(true);
    setError(null);
    markSentHere(props.target.id);
    try {
      const r = await client.decide(props.target.id, props.decision, { reason: text || null });
      props.onDecided(r);
    } catch (err) {
      unmarkSentHere(props.target.id);
      if (!handleAuthError(err)) setError(refusalText(err));
    } finally {
      setBusy(false);
      // Back to the reason: the refusal is announced, and Esc or a new reason can follow.
      reasonBox?.focus();
    }
  };

  return (
    <Modal title={`${verb()} ${props.target.action}?`} onClose={props.onClose} describedBy="decision-help">
      <form onSubmit={submit}>
        <p id="decision-help" class="muted">
          <code>{props.target.id}</code>
          <Show when={props.target.requireReason} fallback={<> — a reason is optional. Enter decides, Shift+Enter starts a new line, Esc cancels.</>}>
            {' '}— <strong>the matching rule requires a reason.</strong> Enter decides, Esc cancels.
          </Show>
        </p>
        <label for="decision-reason">Reason{props.target.requireReason ? ' (required)' : ''}</label>
        <textarea
          id="decision-reason"
          ref={reasonBox}
          autofocus
          rows={3}
          value={reason()}
          aria-invalid={error() ? 'true' : undefined}
          aria-describedby={error() ? 'decision-error' : undefined}
          onInput={(e) => setReason(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) submit(e);
          }}
        />
        <Show when={error()}>
          <p id="decision-error" class="error-note" role="alert">{error()}</p>
        </Show>
        <div class="actions">
          <button type="button" class="btn" onClick={props.onClose}>Cancel</button>
          <button type="submit" class={`btn ${props.decision === 'approved' ? 'approve' : 'deny'}`} disabled={busy()}>
            {busy() ? 'Sending…' : verb()}
          </button>
        </div>
      </form>
    </Modal>
  );
}
