/**
 * Honouring "429, Retry-After": a refused call is made again once the pause is over; other
 * calls of the same kind wait out the same pause, other kinds do not; a pause longer than
 * the bound fails the call; any other error passes through untouched. A fake clock: no
 * real waiting.
 */
import t from 'tap';
import { RateLimitedError, RetryAfterGate } from '../../server/src/channels/retry-after.ts';
import { slackRetryAfterMs } from '../../server/src/channels/slack.ts';

class Refused extends Error {
  constructor(readonly retryAfterMs: number) {
    super('429');
  }
}

function clockedGate(maxWaitMs = 60_000) {
  let clock = 0;
  const sleeps: number[] = [];
  const gate = new RetryAfterGate({
    maxWaitMs,
    retryAfterMs: (err) => (err instanceof Refused ? err.retryAfterMs : null),
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
  });
  return { gate, sleeps, now: () => clock };
}

t.test('a refused call is made again after the pause it asked for', async (t) => {
  const { gate, sleeps, now } = clockedGate();
  const calledAt: number[] = [];
  const result = await gate.run('chat.postMessage', async () => {
    calledAt.push(now());
    if (calledAt.length === 1) throw new Refused(3_000);
    return 'posted';
  });
  t.equal(result, 'posted');
  t.same(calledAt, [0, 3_000], 'the second call went out when the pause ended, not before');
  t.same(sleeps, [3_000]);
});

/** A gate whose sleeps wait until the test wakes them, for calls that overlap. */
function manualGate() {
  const state = { clock: 0 };
  const timers: Array<() => void> = [];
  const gate = new RetryAfterGate({
    maxWaitMs: 60_000,
    retryAfterMs: (err) => (err instanceof Refused ? err.retryAfterMs : null),
    now: () => state.clock,
    sleep: () => new Promise<void>((wake) => timers.push(wake)),
  });
  return {
    gate, state,
    flush: () => new Promise((resolve) => setImmediate(resolve)),
    /** Moves the clock and wakes every sleeper. */
    advanceTo(ms: number) {
      state.clock = ms;
      for (const wake of timers.splice(0)) wake();
    },
  };
}

t.test('a call starting during a pause waits for its end', async (t) => {
  const { gate, state, flush, advanceTo } = manualGate();
  const calls: string[] = [];
  const a = gate.run('chat.postMessage', async () => {
    calls.push(`a@${state.clock}`);
    if (calls.length === 1) throw new Refused(2_000);
  });
  await flush();
  state.clock = 500;
  const b = gate.run('chat.postMessage', async () => {
    calls.push(`b@${state.clock}`);
  });
  await flush();
  t.same(calls, ['a@0'], 'nothing went out during the pause');
  advanceTo(2_000);
  await Promise.all([a, b]);
  t.same(calls.sort(), ['a@0', 'a@2000', 'b@2000'], 'both went out when it ended');
});

t.test('a pause holds back only calls of its own kind', async (t) => {
  const { gate, state, flush, advanceTo } = manualGate();
  let refused = false;
  const posted = gate.run('chat.postMessage', async () => {
    if (!refused) {
      refused = true;
      throw new Refused(5_000);
    }
  });
  await flush();
  const updatedAt: number[] = [];
  await gate.run('chat.update', async () => {
    updatedAt.push(state.clock);
  });
  t.same(updatedAt, [0], 'chat.update went out at once, during the chat.postMessage pause');
  advanceTo(5_000);
  await posted;
});

t.test('a pause longer than the bound fails the call; other errors pass through', async (t) => {
  const { gate } = clockedGate(10_000);
  let calls = 0;
  const err = await gate.run('chat.postMessage', async () => {
    calls++;
    throw new Refused(30_000);
  }).catch((e: unknown) => e);
  t.type(err, RateLimitedError);
  t.match((err as Error).message, /chat\.postMessage: rate limited, retry after 30 s/);
  t.equal(calls, 1, 'not called again into the pause');
  // A later call finds the pause still on and fails at once, without calling.
  const again = await gate.run('chat.postMessage', async () => {
    calls++;
  }).catch((e: unknown) => e);
  t.type(again, RateLimitedError);
  t.equal(calls, 1);

  const boom = new Error('channel_not_found');
  await t.rejects(gate.run('chat.update', async () => {
    throw boom;
  }), boom);
});

t.test("Slack's rate-limited error: its Retry-After, at least a second; nothing else counts", async (t) => {
  t.equal(slackRetryAfterMs({ code: 'slack_webapi_rate_limited_error', retryAfter: 7 }), 7_000);
  t.equal(slackRetryAfterMs({ code: 'slack_webapi_rate_limited_error', retryAfter: 0 }), 1_000);
  t.equal(slackRetryAfterMs({ code: 'slack_webapi_platform_error', data: { error: 'ratelimited' } }), null);
  t.equal(slackRetryAfterMs(new Error('socket hang up')), null);
  t.equal(slackRetryAfterMs(null), null);
});
