import { createSignal, For, Show, type JSX } from 'solid-js';
import { connection } from '../live.ts';

const CONNECTION_TEXT = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' } as const;

export function ConnectionIndicator() {
  return (
    <span class={`conn conn-${connection()}`} role="status" aria-live="polite" title="Live updates from the server">
      <span class="dot" aria-hidden="true" />
      {CONNECTION_TEXT[connection()]}
    </span>
  );
}

export function Skeleton(props: { rows?: number; label?: string }) {
  return (
    <div class="skeleton" role="status" aria-label={props.label ?? 'Loading'}>
      <For each={Array.from({ length: props.rows ?? 5 })}>{() => <div class="skeleton-row" />}</For>
    </div>
  );
}

export function CopyButton(props: { text: string; label: string }) {
  const [done, setDone] = createSignal(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text);
    } catch {
      // Clipboard refused (plain http): select the text so Ctrl+C works.
      const el = document.createElement('textarea');
      el.value = props.text;
      document.body.append(el);
      el.select();
      document.execCommand('copy');
      el.remove();
    }
    setDone(true);
    setTimeout(() => setDone(false), 1500);
  };
  return (
    <button type="button" class="btn small" onClick={copy} aria-label={props.label}>
      {done() ? 'Copied' : 'Copy'}
    </button>
  );
}

export function Json(props: { value: unknown; label: string }) {
  return <pre class="json" tabIndex={0} aria-label={props.label}>{JSON.stringify(props.value, null, 2)}</pre>;
}

export function ErrorNote(props: { error: string | null | undefined }) {
  return (
    <Show when={props.error}>
      <p class="error-note" role="alert">{props.error}</p>
    </Show>
  );
}

export function Empty(props: { title: string; children?: JSX.Element }) {
  return (
    <div class="empty">
      <h2>{props.title}</h2>
      {props.children}
    </div>
  );
}

export function UrgencyBadge(props: { urgency: string }) {
  return <span class={`badge urgency-${props.urgency}`}>{props.urgency}</span>;
}

export function StatusBadge(props: { status: string }) {
  return <span class={`badge status-${props.status}`}>{props.status}</span>;
}

/** A one-line live notice (e.g. "req_… approved by ops-bot"). */
const [notices, setNotices] = createSignal<{ id: number; text: string }[]>([]);
let noticeId = 0;
export function notify(text: string): void {
  const id = ++noticeId;
  setNotices((n) => [...n.slice(-4), { id, text }]);
  setTimeout(() => setNotices((n) => n.filter((x) => x.id !== id)), 8000);
}
export function Notices() {
  return (
    <div class="notices" role="log" aria-live="polite" aria-label="Notices">
      <For each={notices()}>{(n) => <div class="notice">{n.text}</div>}</For>
    </div>
  );
}
