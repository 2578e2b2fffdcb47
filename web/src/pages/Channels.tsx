import { createSignal, Index, onCleanup, Show } from 'solid-js';
import { A } from '@solidjs/router';
import type { Channel, ChannelTest } from '@agentgate/sdk';
import { client } from '../api.ts';
import { onEvents } from '../live.ts';
import { can } from '../session.ts';
import { dateTime } from '../lib/time.ts';
import { ErrorNote, Skeleton } from '../components/bits.tsx';
import { useManagedList } from '../lib/managed.ts';

const NAMES = { slack: 'Slack', discord: 'Discord', email: 'Email' } as const;
const DELIVERY_WORDS = { planned: 'not sent yet', posted: 'posted', failed: 'failed, retrying', updated: 'posted, then updated with the outcome' } as const;

/** The notification channels as this server is configured, and a test message through each. */
export default function Channels() {
  const list = useManagedList(() => client.listChannels());
  const channels = list.data;
  // The test this tab just asked for, per channel: its outcome is announced when the worker records it.
  const [asked, setAsked] = createSignal<Record<string, string>>({});
  // Test outcomes arrive on the channel's own stream; notifications on their request's stream.
  onCleanup(onEvents((events) => {
    if (events.some((e) => e.streamType === 'channel' || e.eventType.startsWith('request.notification'))) void list.reload();
  }));

  const outcomeAsked = (c: Channel) => {
    const t = c.lastTest;
    return t && t.id === asked()[c.type] && t.status !== 'queued' ? `${NAMES[c.type]} test ${t.status}` : '';
  };

  const test = (c: Channel) => list.act(async () => {
    const queued = await client.testChannel(c.type);
    setAsked({ ...asked(), [c.type]: queued.id });
  });

  return (
    <section aria-labelledby="channels-title">
      <header class="page-head"><h1 id="channels-title">Notification channels</h1></header>
      <p class="muted small">
        Where people are asked to decide. A channel is on when this server has its credentials; a test message goes to its default destination
        through the worker, as real notifications do. Who is reached where is set on the <A href="/reviewers">Reviewers</A> page.
      </p>
      <ErrorNote error={list.error()} />
      <Show when={channels()} fallback={<Skeleton rows={3} label="Loading channels" />}>
        <ul class="channels">
          {/* By position (the channels and their order are fixed): a reload updates each card in place, so focus stays on its button. */}
          <Index each={channels()}>
            {(c) => (
              <li class="card" data-channel={c().type}>
                <div class="channel-head">
                  <h2 id={`ch-${c().type}`}>{NAMES[c().type]}</h2>
                  <span class={`badge ${c().enabled ? 'state-on' : 'state-off'}`}>{c().enabled ? 'on' : 'off'}</span>
                </div>
                <dl class="facts">
                  <Show when={!c().enabled}><dt>Why off</dt><dd>{c().reason ?? 'not configured'}</dd></Show>
                  <dt>Default destination</dt><dd class="breakable">{c().defaultTarget ?? <span class="muted">none set</span>}</dd>
                  <dt>Last delivery</dt>
                  <dd>
                    <Show when={c().lastDelivery} fallback={<span class="muted">none yet</span>}>
                      {(d) => (
                        <>
                          {DELIVERY_WORDS[d().status as keyof typeof DELIVERY_WORDS] ?? d().status} to <span class="breakable">{d().destination}</span>, {dateTime(d().at)}
                          <Show when={can('request:read')} fallback={<> (<code>{d().requestId}</code>)</>}>
                            {' '}(<A href={`/requests/${d().requestId}`}>{d().requestId}</A>)
                          </Show>
                          <Show when={d().error}><div class="field-error">{d().error}</div></Show>
                        </>
                      )}
                    </Show>
                  </dd>
                  <dt>Last test</dt>
                  <dd data-testid={`last-test-${c().type}`}>
                    <Show when={c().lastTest} fallback={<span class="muted">none yet</span>}>{(t) => <TestOutcome test={t()} />}</Show>
                  </dd>
                </dl>
                <Show when={c().enabled}>
                  <div class="actions left">
                    <button class="btn" onClick={() => void test(c())} aria-label={`Send test through ${NAMES[c().type]}`}>Send test</button>
                  </div>
                </Show>
                {/* Announced when the outcome of a test asked for here lands. */}
                <p class="sr-only" role="status">{outcomeAsked(c())}</p>
              </li>
            )}
          </Index>
        </ul>
      </Show>
    </section>
  );
}

function TestOutcome(props: { test: ChannelTest }) {
  const t = () => props.test;
  return (
    <>
      <span class={`badge test-${t().status}`}>{t().status}</span>{' '}
      <Show when={t().status === 'queued'}>waiting for the worker, asked {dateTime(t().requestedAt)}</Show>
      <Show when={t().status === 'sent'}>to <span class="breakable">{t().target}</span>, {dateTime(t().finishedAt ?? t().requestedAt)}</Show>
      <Show when={t().status === 'failed'}>
        {dateTime(t().finishedAt ?? t().requestedAt)}<div class="field-error">{t().error}</div>
      </Show>
    </>
  );
}
