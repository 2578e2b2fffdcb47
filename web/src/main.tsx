import { lazy, Match, onMount, Switch, createEffect, type JSX } from 'solid-js';
import { render } from 'solid-js/web';
import { Navigate, Route, Router } from '@solidjs/router';
import './styles.css';
import { Layout } from './Layout.tsx';
import { loadSession, session } from './session.ts';
import { startLive, stopLive } from './live.ts';
import SignIn from './pages/SignIn.tsx';
import Queue from './pages/Queue.tsx';
import { Skeleton } from './components/bits.tsx';

const RequestDetail = lazy(() => import('./pages/RequestDetail.tsx'));
const Requests = lazy(() => import('./pages/Requests.tsx'));
const Audit = lazy(() => import('./pages/Audit.tsx'));
const Policies = lazy(() => import('./pages/Policies.tsx'));
const Keys = lazy(() => import('./pages/Keys.tsx'));
const Webhooks = lazy(() => import('./pages/Webhooks.tsx'));
const Reviewers = lazy(() => import('./pages/Reviewers.tsx'));
const Channels = lazy(() => import('./pages/Channels.tsx'));
const NotFound = () => <section><h1>Not found</h1><p>No page here. <a href="/">Back to the queue</a>.</p></section>;

function Shell(props: { children?: JSX.Element }) {
  onMount(() => void loadSession());
  // One live stream while signed in; closed on sign-out.
  createEffect(() => {
    if (session()) startLive();
    else stopLive();
  });
  return (
    <Switch>
      <Match when={session() === undefined}><main id="main"><Skeleton rows={4} label="Loading" /></main></Match>
      <Match when={session() === null}><SignIn /></Match>
      <Match when={session()}><Layout>{props.children}</Layout></Match>
    </Switch>
  );
}

render(() => (
  <Router root={Shell}>
    <Route path="/" component={Queue} />
    <Route path="/requests" component={Requests} />
    <Route path="/requests/:id" component={RequestDetail} />
    <Route path="/audit" component={Audit} />
    <Route path="/policies" component={Policies} />
    <Route path="/policies/:id" component={Policies} />
    <Route path="/keys" component={Keys} />
    <Route path="/webhooks" component={Webhooks} />
    <Route path="/webhooks/:id" component={Webhooks} />
    <Route path="/reviewers" component={Reviewers} />
    <Route path="/channels" component={Channels} />
    {/* An emailed sign-in link lands here; once signed in there is nothing more to see. */}
    <Route path="/sign-in" component={() => <Navigate href="/" />} />
    <Route path="*" component={NotFound} />
  </Router>
), document.getElementById('root')!);
