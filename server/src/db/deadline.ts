/**
 * A deadline on every database call the application makes, so that nothing waits on a
 * dead server: not a query on a connection whose peer vanished, not a query queued for a
 * pooled connection that cannot be made, not a transaction waiting for its BEGIN.
 *
 * `withQueryDeadline(sql, ms)` is the same postgres.js pool seen through a Proxy (one
 * pool, two views: migrations and projection rebuilds keep the unbounded one). Each query
 * it makes starts its clock when it is executed (awaited), not when it is built, so query
 * fragments and queries built ahead of time are not affected. When the clock runs out the
 * caller gets a DatabaseTimeoutError (a 503 for the API) and the query is cancelled:
 * taken out of the pool's queue if it was still waiting there, or cancelled on the server
 * if it was running and the server can still be reached.
 *
 * Nothing is half-written by a deadline: every append is one statement or one
 * transaction. A transaction whose statement times out throws, so postgres.js rolls it
 * back; one that had not begun by its deadline never runs its body (it rolls back if it
 * begins later). Only a deadline reached while COMMIT itself is in flight leaves the
 * outcome unknown to the caller — the honest 503 of a lost connection — and the
 * Idempotency-Key of a create makes its retry return the original result.
 */
import type { Sql } from './connect.ts';
import { DatabaseTimeoutError } from './unavailable.ts';

/** The parts of a postgres.js Query this relies on (stable since postgres 3.0). */
interface RunnableQuery extends Promise<unknown> {
  cancel(): unknown;
  /** Settles the query's promise; a later settlement by the driver is ignored. */
  reject(err: unknown): void;
  /** The pool's cancel function; returns a promise that rejects when the server is unreachable. */
  canceller: ((q: RunnableQuery) => Promise<void>) | null;
}

const isQuery = (x: unknown): x is RunnableQuery =>
  x instanceof Promise && typeof (x as Partial<RunnableQuery>).cancel === 'function' && typeof (x as Partial<RunnableQuery>).reject === 'function';

function armQuery<T>(query: T, timeoutMs: number): T {
  if (!isQuery(query)) return query;
  const q = query;
  const then = q.then;
  let armed = false;
  Object.defineProperty(q, 'then', {
    configurable: true,
    writable: true,
    value(this: RunnableQuery, onFulfilled?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) {
      if (!armed) {
        armed = true;
        let settled = false;
        const timer = setTimeout(() => {
          if (settled) return;
          q.reject(new DatabaseTimeoutError(timeoutMs));
          // Queued: removed from the queue, so it never runs late. Running: a cancel request
          // on a fresh connection, which fails quietly when the server is gone.
          const cancel = q.canceller;
          q.canceller = null;
          if (cancel) Promise.resolve().then(() => cancel(q)).catch(() => {});
        }, timeoutMs);
        const done = () => {
          settled = true;
          clearTimeout(timer);
        };
        then.call(q, done, done);
      }
      return then.call(this, onFulfilled, onRejected);
    },
  });
  return query;
}

type BeginFn = (tx: Sql) => unknown;

export function withQueryDeadline(sql: Sql, timeoutMs: number): Sql {
  const wrap = (inner: Sql): Sql => new Proxy(inner, {
    apply(target, thisArg, args) {
      return armQuery(Reflect.apply(target as unknown as (...a: unknown[]) => unknown, thisArg, args), timeoutMs);
    },
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === 'unsafe' || prop === 'file') {
        return (...args: unknown[]) => armQuery((value as (...a: unknown[]) => unknown)(...args), timeoutMs);
      }
      if (prop === 'begin') return (...args: unknown[]) => begin(target, args);
      if (prop === 'reserve') return () => reserve(target);
      return value;
    },
  });

  function begin(target: Sql, args: unknown[]): Promise<unknown> {
    const fn = args[args.length - 1] as BeginFn;
    const options = args.length > 1 ? (args[0] as string) : '';
    return new Promise((resolve, reject) => {
      let abandoned = false;
      const giveUp = (what: string) => () => {
        abandoned = true;
        reject(new DatabaseTimeoutError(timeoutMs, what));
      };
      // Until the body starts: waiting for a connection and for BEGIN.
      let timer = setTimeout(giveUp('the database did not start the transaction'), timeoutMs);
      const body = async (tx: Sql) => {
        clearTimeout(timer);
        // Begun after its caller gave up: roll back without writing anything.
        if (abandoned) throw new DatabaseTimeoutError(timeoutMs, 'the transaction began too late');
        try {
          const out = fn(wrap(tx));
          return await (Array.isArray(out) ? Promise.all(out) : out);
        } catch (err) {
          // A statement outlived its deadline: the body failed, so postgres.js will roll back
          // and never commit. Answer now rather than wait for the ROLLBACK on a connection
          // that may not be answering.
          if (err instanceof DatabaseTimeoutError && !abandoned) {
            abandoned = true;
            reject(err);
          }
          throw err;
        } finally {
          // Then COMMIT (or ROLLBACK) has its own deadline.
          if (!abandoned) timer = setTimeout(giveUp('the database did not finish the transaction'), timeoutMs);
        }
      };
      (target.begin as unknown as (o: string, f: typeof body) => Promise<unknown>)(options, body).then(
        (v) => { clearTimeout(timer); if (!abandoned) resolve(v); },
        (e) => { clearTimeout(timer); if (!abandoned) reject(e); },
      );
    });
  }

  async function reserve(target: Sql): Promise<unknown> {
    const pending = target.reserve();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DatabaseTimeoutError(timeoutMs, 'no database connection was free')), timeoutMs);
    });
    try {
      return wrap(await Promise.race([pending, timedOut]) as unknown as Sql);
    } catch (err) {
      // A connection reserved after the caller gave up goes straight back to the pool.
      pending.then((c) => c.release(), () => {});
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  return wrap(sql);
}

/**
 * `work`, or a DatabaseTimeoutError once `ms` pass: for a caller that has less time left
 * than a whole query deadline (a long-poll answering at its timeout). The work itself runs
 * on to its own deadline; its late outcome is ignored.
 */
export function databaseWorkWithin<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseTimeoutError(ms)), ms);
  });
  work.catch(() => {});
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
