import { createResource, createSignal, Show } from 'solid-js';
import { client, errorText } from '../api.ts';
import { signIn, signInWithLink, signOutNote } from '../session.ts';

/** The token of an emailed sign-in link: in the URL's fragment, which no server ever sees. */
function linkToken(): string | null {
  if (window.location.pathname !== '/sign-in') return null;
  return new URLSearchParams(window.location.hash.slice(1)).get('token');
}

export default function SignIn() {
  const [key, setKey] = createSignal('');
  const [error, setError] = createSignal<string | null>(null);
  const [busy, setBusy] = createSignal(false);
  const [token, setToken] = createSignal(linkToken());
  const [methods] = createResource(() => client.signInMethods().catch(() => ({ apiKey: true, emailLink: false })));
  const [email, setEmail] = createSignal('');
  const [emailNote, setEmailNote] = createSignal<string | null>(null);
  const [emailError, setEmailError] = createSignal<string | null>(null);

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

  // The link is used only on a click: a mail scanner that opens it signs no one in.
  const useLink = async () => {
    setBusy(true);
    setError(null);
    try {
      await signInWithLink(token()!);
      window.history.replaceState(null, '', '/');
    } catch (err) {
      setError(errorText(err));
      setToken(null);
      window.history.replaceState(null, '', '/');
    } finally {
      setBusy(false);
    }
  };

  const askForLink = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setEmailError(null);
    setEmailNote(null);
    try {
      setEmailNote((await client.requestSignInLink(email().trim())).message);
    } catch (err) {
      setEmailError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin" id="main">
      <Show when={token()} fallback={
        <div class="card">
          <form onSubmit={submit} aria-labelledby="signin-title">
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
          <Show when={methods()?.emailLink}>
            <form onSubmit={askForLink} aria-labelledby="email-link-title" class="email-link">
              <h2 id="email-link-title">No key? Email me a link</h2>
              <p class="muted small">Reviewers in the directory get a link that signs them in once, within 15 minutes.</p>
              <label for="signin-email">Your email</label>
              <input id="signin-email" type="email" autocomplete="email" required placeholder="you@example.com"
                value={email()} onInput={(e) => setEmail(e.currentTarget.value)}
                aria-invalid={emailError() ? 'true' : undefined} aria-describedby={emailError() ? 'email-error' : undefined} />
              <Show when={emailError()}><p id="email-error" class="error-note" role="alert">{emailError()}</p></Show>
              <Show when={emailNote()}><p class="info-note" role="status">{emailNote()}</p></Show>
              <button class="btn" type="submit" disabled={busy() || !email().trim()}>Email me a link</button>
            </form>
          </Show>
        </div>
      }>
        <div class="card" aria-labelledby="link-title">
          <h1 id="link-title"><img src="/favicon.svg" alt="" width="28" height="28" /> AgentGate</h1>
          <p>Sign in with the link you were emailed. It works once; the session is yours as a reviewer.</p>
          <Show when={error()}><p class="error-note" role="alert">{error()}</p></Show>
          <button class="btn primary" type="button" onClick={useLink} disabled={busy()}>{busy() ? 'Signing in…' : 'Sign in'}</button>
        </div>
      </Show>
    </main>
  );
}
