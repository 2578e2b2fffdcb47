/**
 * One live event stream per tab (the SDK's events(), authenticated by the session cookie),
 * shared by every page. Pages subscribe to batches of events; the stream resumes from its
 * last position after a drop, so nothing is missed.
 */
import { createSignal } from 'solid-js';
import type { LiveEvent } from '@agentgate/sdk';
import { AgentGateError, client, errorText } from './api.ts';
import { loadSession, sessionEnded } from './session.ts';

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'offline';
const [connection, setConnection] = createSignal<Connection>('connecting');
export { connection };

type Listener = (events: LiveEvent[]) => void;
const listeners = new Set<Listener>();
let stop: AbortController | null = null;
let openedWaiters: (() => void)[] = [];
let opened = false;

export function onEvents(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Resolves once the stream is subscribed: data read after this cannot miss an event. */
export function streamReady(timeoutMs = 3000): Promise<void> {
  if (opened) return Promise.resolve();
  return new Promise((resolve) => {
    openedWaiters.push(resolve);
    setTimeout(resolve, timeoutMs);
  });
}

function markOpened() {
  opened = true;
  for (const w of openedWaiters.splice(0)) w();
}

export function startLive(): void {
  if (stop) return;
  const controller = new AbortController();
  stop = controller;
  opened = false;
  setConnection('connecting');
  let batch: LiveEvent[] = [];
  let scheduled = false;
  // Events arriving together (a request and its policy outcome) render in one frame.
  const flush = () => {
    scheduled = false;
    const events = batch;
    batch = [];
    for (const l of listeners) l(events);
  };
  void (async () => {
    try {
      for await (const e of client.events({
        signal: controller.signal,
        heartbeatMs: 20_000,
        onStatus: (status) => {
          if (status === 'open') markOpened();
          setConnection(status === 'reconnecting' ? (navigator.onLine ? 'reconnecting' : 'offline') : status === 'live' ? 'live' : connection());
          if (status === 'open' && connection() !== 'live') setConnection('live');
        },
      })) {
        batch.push(e);
        if (!scheduled) {
          scheduled = true;
          queueMicrotask(flush);
        }
      }
    } catch (err) {
      if (controller.signal.aborted) return;
      setConnection('offline');
      stop = null;
      if (err instanceof AgentGateError && err.status === 401) {
        sessionEnded(`Signed out: ${errorText(err)}`);
      } else if (err instanceof AgentGateError && err.status === 403) {
        // The key lost a read scope: take the new scopes and follow what is still allowed.
        await loadSession();
        startLive();
      }
    }
  })();
}

export function stopLive(): void {
  stop?.abort();
  stop = null;
  opened = false;
  setConnection('connecting');
}

window.addEventListener('offline', () => setConnection('offline'));
window.addEventListener('online', () => { if (connection() === 'offline' && stop) setConnection('reconnecting'); });
