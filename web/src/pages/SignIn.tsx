import { createSignal, Show } from 'solid-js';
import { errorText } from '../api.ts';
import { signIn, signOutNote } from '../session.ts';

export default function SignIn() {
  const [key, setKey] = createSignal('');
  const [error, setError] = createSignal<string | null>(null);
  const [busy, setBusy] = createSignal(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(key().trim());
      setKey('');
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin" id="main">
      <form class="card" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title"><img src="/favicon.svg" alt="" width="28" height="28" /> AgentGate</h1>
        <p class="muted">Sign in with an API key. It is exchanged once for a session; the key is not kept in this browser.</p>
        <Show when={signOutNote()}><p class="info-note" role="status">{signOutNote()}</p></Show>
        <label for="api-key">API key</label>
        <input id="api-key" type="password" autocomplete="off" spellcheck={false} required placeholder="agk_…"
          value={key()} onInput={(e) => setKey(e.currentTarget.value)}
          aria-invalid={error() ? 'true' : undefined} aria-describedby={error() ? 'signin-error' : undefined} />
        <Show when={error()}><p id="signin-error" class="error-note" role="alert">{error()}</p></Show>
        <button class="btn primary" type="submit" disabled={busy() || !key().trim()}>{busy() ? 'Signing in…' : 'Sign in'}</button>
        <p class="muted small">The first admin key is printed by the server on its first start.</p>
      </form>
    </main>
  );
}
