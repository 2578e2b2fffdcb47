/**
 * `npm run bench`: runs bench/create.ts, then bench/live.ts, bench/webhooks.ts,
 * bench/notifications.ts and bench/dashboard.ts when they
 * exist, each against a fresh database (created and dropped here) on DATABASE_URL's server,
 * or on an embedded PostgreSQL when DATABASE_URL is unset. Prints one summary table and
 * writes bench/results/latest.json.
 *
 *   --only create,live,webhooks,notifications,dashboard   run a subset
 *   --quick                       small counts: a smoke run
 *   --concurrency N               clients of the main create run (default 16)
 *   --requests N                  measured creates per mode at N clients (default 5000)
 *   --pool N                      the server's Postgres pool size (default 10)
 *   --no-pgbench                  skip pgbench even when it is on PATH
 *   --prefill N                   create: grow the log to N events for the prefilled run (0 skips; default
 *                                 1000000 with --only create, else 0: the full run stays near five minutes)
 *   --no-group-commit-off         create: skip the run with CREATE_GROUP_COMMIT_MS=0
 *   --cpu-prof DIR                write V8 CPU profiles to DIR: of the server (create), of the worker (notifications)
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { connect } from '../server/src/db/connect.ts';
import { startEmbeddedPostgres } from '../server/src/db/embedded.ts';
import { migrate } from '../server/src/db/migrate.ts';
import { ROOT_DIR } from '../server/src/db/paths.ts';
import { freePort } from '../test/helpers/process.ts';
import { table } from './stats.ts';

type BenchResult = Record<string, number | string>;
type BenchRun = (opts: { databaseUrl: string; quick?: boolean } & Record<string, unknown>) => Promise<BenchResult>;

const BENCH_DIR = fileURLToPath(new URL('./', import.meta.url));
const BENCHES = ['create', 'live', 'webhooks', 'notifications', 'dashboard'] as const;

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    concurrency: { type: 'string' },
    requests: { type: 'string' },
    pool: { type: 'string' },
    'no-pgbench': { type: 'boolean', default: false },
    prefill: { type: 'string' },
    'no-group-commit-off': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
  },
});

const positiveInt = (name: string, v: string | undefined) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${v}"`);
  return n;
};

const only = args.only ? args.only.split(',').map((s) => s.trim()).filter(Boolean) : [...BENCHES];
const unknown = only.filter((b) => !(BENCHES as readonly string[]).includes(b));
if (unknown.length) {
  console.error(`unknown bench(es): ${unknown.join(', ')}; known: ${BENCHES.join(', ')}`);
  process.exit(2);
}

let serverUrl = process.env.DATABASE_URL;
let stopEmbedded: (() => Promise<void>) | null = null;
let tempDir: string | null = null;
if (!serverUrl) {
  const base = path.join(ROOT_DIR, 'data');
  mkdirSync(base, { recursive: true });
  tempDir = mkdtempSync(path.join(base, 'bench-postgres-'));
  const port = await freePort();
  console.log(`DATABASE_URL is not set: using an embedded PostgreSQL on port ${port}`);
  const pg = await startEmbeddedPostgres({ dataDir: tempDir, port });
  stopEmbedded = pg.stop;
  serverUrl = pg.url;
}

/** A fresh, migrated database for one benchmark; dropped afterwards. */
async function withFreshDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const name = `agentgate_bench_${randomBytes(6).toString('hex')}`;
  const admin = connect(serverUrl!, { max: 1, applicationName: 'agentgate-bench-admin' });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl!);
  url.pathname = `/${name}`;
  try {
    const sql = connect(url.toString(), { max: 1 });
    try { await migrate(sql); } finally { await sql.end({ timeout: 1 }); }
    return await fn(url.toString());
  } finally {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end({ timeout: 1 });
  }
}

const admin = connect(serverUrl, { max: 1 });
const [{ server_version: pgVersion }] = (await admin`show server_version`) as unknown as [{ server_version: string }];
await admin.end({ timeout: 1 });

const machine = {
  node: process.version,
  cpus: os.availableParallelism(),
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  memoryGb: Math.round(os.totalmem() / 2 ** 30),
  postgres: pgVersion,
  database: stopEmbedded ? 'embedded' : 'DATABASE_URL',
  loadAverageAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
};
if (machine.loadAverageAtStart[0]! > machine.cpus / 2) {
  console.log(`note: the 1-minute load average is ${machine.loadAverageAtStart[0]} on ${machine.cpus} CPUs; other work on this machine will move the figures`);
}
console.log(`node ${machine.node}, ${machine.cpus} CPUs (${machine.cpuModel}), PostgreSQL ${machine.postgres} (${machine.database})${args.quick ? ', --quick' : ''}\n`);

const results: Record<string, BenchResult | { skipped: string } | { failed: string }> = {};
let failed = false;
const startedAt = new Date();
try {
  for (const bench of BENCHES) {
    if (!only.includes(bench)) continue;
    const file = path.join(BENCH_DIR, `${bench}.ts`);
    if (!existsSync(file)) {
      console.log(`${bench}: skipped (bench/${bench}.ts does not exist yet)\n`);
      results[bench] = { skipped: `bench/${bench}.ts does not exist` };
      continue;
    }
    const mod = (await import(pathToFileURL(file).href)) as { run?: BenchRun };
    if (typeof mod.run !== 'function') {
      console.log(`${bench}: skipped (bench/${bench}.ts exports no run function)\n`);
      results[bench] = { skipped: 'no run export' };
      continue;
    }
    const t0 = performance.now();
    try {
      results[bench] = await withFreshDatabase((databaseUrl) => mod.run!({
        databaseUrl,
        quick: args.quick,
        concurrency: positiveInt('concurrency', args.concurrency),
        requests: positiveInt('requests', args.requests),
        pool: positiveInt('pool', args.pool),
        pgbench: !args['no-pgbench'],
        prefill: args.prefill === undefined ? (only.length === 1 && only[0] === 'create' ? undefined : 0)
          : args.prefill === '0' ? 0 : positiveInt('prefill', args.prefill),
        groupCommitOff: !args['no-group-commit-off'],
        cpuProfDir: args['cpu-prof'] ? path.resolve(args['cpu-prof']) : undefined,
      }));
      console.log(`${bench}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    } catch (err) {
      failed = true;
      console.error(`${bench}: FAILED: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      results[bench] = { failed: err instanceof Error ? err.message : String(err) };
    }
  }
} finally {
  if (stopEmbedded) await stopEmbedded().catch(() => {});
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
}

/**
 * One table for every bench: a key "case.metric" becomes row "case", column "metric";
 * keys without a dot are notes shown on their own rows.
 */
function summary(): string {
  const columns: string[] = [];
  const rows: { bench: string; kase: string; cells: Record<string, number | string> }[] = [];
  const notes: string[][] = [];
  for (const [bench, result] of Object.entries(results)) {
    for (const [key, value] of Object.entries(result)) {
      const dot = key.lastIndexOf('.');
      if (dot < 0) { notes.push([bench, key, String(value)]); continue; }
      const kase = key.slice(0, dot);
      const metric = key.slice(dot + 1);
      if (!columns.includes(metric)) columns.push(metric);
      let row = rows.find((r) => r.bench === bench && r.kase === kase);
      if (!row) rows.push(row = { bench, kase, cells: {} });
      row.cells[metric] = value;
    }
  }
  const main = table(['bench', 'case', ...columns], rows.map((r) => [r.bench, r.kase, ...columns.map((c) => r.cells[c] ?? '')]));
  return notes.length ? `${main}\n\n${table(['bench', 'note', 'value'], notes)}` : main;
}

console.log('Summary');
console.log(summary());

const resultsDir = path.join(BENCH_DIR, 'results');
mkdirSync(resultsDir, { recursive: true });
const file = path.join(resultsDir, 'latest.json');
writeFileSync(file, JSON.stringify({
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  args: { ...args },
  machine,
  results,
}, null, 2) + '\n');
console.log(`\nwrote ${path.relative(ROOT_DIR, file)}`);
process.exit(failed ? 1 : 0);
