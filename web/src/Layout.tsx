import { createSignal, Show, type JSX } from 'solid-js';
import { A } from '@solidjs/router';
import { can, session, signOut } from './session.ts';
import { ConnectionIndicator, Notices } from './components/bits.tsx';

export function Layout(props: { children?: JSX.Element }) {
  const [menu, setMenu] = createSignal(false);
  const link = (href: string, label: string, scope?: string) => (
    <Show when={!scope || can(scope)}>
      <li><A href={href} end={href === '/'} activeClass="active" onClick={() => setMenu(false)}>{label}</A></li>
    </Show>
  );
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="topbar">
        <A href="/" class="brand" aria-label="AgentGate queue"><img src="/favicon.svg" alt="" width="22" height="22" /> AgentGate</A>
        <button class="btn icon menu-toggle" aria-label="Menu" aria-expanded={menu()} aria-controls="nav" onClick={() => setMenu(!menu())}>☰</button>
        <nav id="nav" aria-label="Main" classList={{ open: menu() }}>
          <ul>
            {link('/', 'Queue', 'request:read')}
            {link('/requests', 'Requests', 'request:read')}
            {link('/audit', 'Audit', 'audit:read')}
            {link('/policies', 'Policies', 'policy:read')}
            {link('/keys', 'API keys', 'key:manage')}
            {link('/webhooks', 'Webhooks', 'webhook:manage')}
            {link('/reviewers', 'Reviewers', 'reviewer:manage')}
            {link('/channels', 'Channels', 'reviewer:manage')}
          </ul>
        </nav>
        <div class="who">
          <ConnectionIndicator />
          <span class="muted small" title={session()?.scopes.join(', ')}>{session()?.subject.name}</span>
          <button class="btn small" onClick={() => void signOut()}>Sign out</button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>{props.children}</main>
      <Notices />
    </>
  );
}
