import { summarize, type LatencySummary } from './stats.ts';

export interface LoadOptions {
  /** Concurrent closed-loop clients: each sends its next operation when the previous one finished. */
  concurrency: number;
  /** Measured operations (after the warm-up). */
  count: number;
  warmup: number;
  /** Stops issuing operations after this long, so a slow machine still finishes. */
  maxSeconds: number;
  /** One operation; throwing counts as an error (its latency is not recorded). */
  op: (i: number) => Promise<void>;
  /** Called between the warm-up and the measured phase (e.g. to snapshot CPU counters). */
  beforeMeasure?: () => void;
}

export interface LoadResult extends LatencySummary {
  opsPerSecond: number;
  seconds: number;
  errors: number;
  firstError: string | null;
  capped: boolean;
  /** The measured latencies in ms, so that phases can be merged into one set of percentiles. */
  samples: Float64Array;
}

async function phase(concurrency: number, count: number, maxMs: number, op: (i: number) => Promise<void>, samples: Float64Array | null) {
  let next = 0;
  let done = 0;
  let errors = 0;
  let firstError: string | null = null;
  const start = performance.now();
  const deadline = start + maxMs;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count || performance.now() > deadline) return;
      const t0 = performance.now();
      try {
        await op(i);
        if (samples) samples[done] = performance.now() - t0;
        done++;
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { done, errors, firstError, seconds: (performance.now() - start) / 1000, capped: done + errors < count };
}

/** Warm-up (not recorded), then `count` measured operations; throughput over the measured phase only. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  if (opts.warmup > 0) await phase(opts.concurrency, opts.warmup, opts.maxSeconds * 1000, opts.op, null);
  const samples = new Float64Array(opts.count);
  opts.beforeMeasure?.();
  const r = await phase(opts.concurrency, opts.count, opts.maxSeconds * 1000, (i) => opts.op(opts.warmup + i), samples);
  const measured = samples.subarray(0, r.done);
  return {
    ...summarize(measured),
    samples: measured,
    opsPerSecond: r.done / r.seconds,
    seconds: r.seconds,
    errors: r.errors,
    firstError: r.firstError,
    capped: r.capped,
  };
}
