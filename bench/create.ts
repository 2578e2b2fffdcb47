/**
 * Request-create throughput and latency over real HTTP, in two modes (auto-approved by a
 * policy, routed to people), next to the raw single-row insert rate of the same Postgres.
 * The server runs as a child process (bench/server.ts); clients run in this process.
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type Sql } from '../server/src/db/connect.ts';
import { migrate } from '../server/src/db/migrate.ts';
import { executeCommand } from '../server/src/events/command.ts';
import { streamId } from '../server/src/events/types.ts';
import { newId } from '../server/src/ids.ts';
import { createKey, SYSTEM_METADATA } from '../server/src/keys/commands.ts';
import { jsonClient, type HttpResponse } from './http.ts';
import { cpuSince, cpuSnapshot, postmasterOf, type CpuSnapshot } from './cpu.ts';
import { runLoad, type LoadOptions, type LoadResult } from './load.ts';
import { round, table } from './stats.ts';

export interface CreateBenchOptions {
  databaseUrl: string;
  quick?: boolean;
  /** Concurrent clients of the main run (a 1-client run always follows). */
  concurrency?: number;
  /** Measured requests per mode at `concurrency` clients. */
  requests?: number;
  /** Measured requests per mode with one client. */
  singleRequests?: number;
  warmup?: number;
  /** The server's Postgres pool size (its DB_POOL_SIZE). */
  pool?: number;
  /** Cap per measured phase, in seconds. */
  maxSeconds?: number;
  pgbench?: boolean;
  log?: (line: string) => void;
}

type Modes = 'auto_approve' | 'route_to_human';
const MODES: { mode: Modes; action: string; expectStatus: string }[] = [
  { mode: 'auto_approve', action: 'bench.auto', expectStatus: 'approved' },
  { mode: 'route_to_human', action: 'bench.human', expectStatus: 'pending' },
];

type Measured = LoadResult & { cpu: ReturnType<typeof cpuSince> };

const SERVER_ENTRY = fileURLToPath(new URL('./server.ts', import.meta.url));

interface ServerChild {
  port: number;
  pool: number;
  pid: number;
  stop(): Promise<void>;
}

function startServer(databaseUrl: string, pool: number): Promise<ServerChild> {
  const child = fork(SERVER_ENTRY, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, DATABASE_URL: databaseUrl, DB_POOL_SIZE: String(pool) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill(); reject(new Error('the bench server did not start within 30 s')); }, 30_000);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the bench server exited early (code ${code})`)); });
    child.once('message', (m: { port: number; pool: number }) => {
      clearTimeout(timer);
      resolve({
        port: m.port, pool: m.pool, pid: child.pid ?? 0,
        stop: async () => {
          if (child.exitCode === null && child.connected) child.send('stop');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
}

function expectStatus(res: HttpResponse, status: number, what: string): Record<string, unknown> {
  if (res.status !== status) throw new Error(`${what}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
  return JSON.parse(res.body) as Record<string, unknown>;
}

const POLICY = {
  name: 'bench auto-approve',
  description: 'Auto-approves the benchmark action',
  priority: 10,
  enabled: true,
  rules: [{ match: { action: 'bench.auto' }, decision: 'auto_approve', approvers: [], channels: [], requireReason: false }],
};

/** Through the API when the policy routes exist; otherwise the policy.created event through the one write path. */
async function createPolicy(sql: Sql, client: ReturnType<typeof jsonClient>, adminKey: string): Promise<'api' | 'executeCommand'> {
  const res = await client.request('POST', '/api/policies', POLICY, { authorization: `Bearer ${adminKey}` });
  if (res.status === 201 || res.status === 200) return 'api';
  if (res.status !== 404) throw new Error(`POST /api/policies: HTTP ${res.status} ${res.body.slice(0, 300)}`);
  const id = newId('policy');
  await executeCommand<number>(sql, {
    streamId: streamId('policy', id),
    streamType: 'policy',
    initial: () => 0,
    evolve: (version) => version + 1,
    decide: (version) => {
      if (version !== 0) throw new Error(`policy ${id} already exists`);
      const { name, description, priority, enabled, rules } = POLICY;
      return [{ type: 'policy.created', data: { id, name, description, priority, enabled, rules } }];
    },
    metadata: SYSTEM_METADATA,
  });
  return 'executeCommand';
}

function pgbenchTps(url: string, clients: number, transactions: number): number | null {
  const which = spawnSync('sh', ['-c', 'command -v pgbench'], { encoding: 'utf8' });
  if (which.status !== 0) return null;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agentgate-pgbench-'));
  try {
    const script = path.join(dir, 'insert.sql');
    writeFileSync(script, '\\set v random(1, 1000000000)\ninsert into bench_raw_inserts (v) values (:v);\n');
    const r = spawnSync('pgbench', [
      '-n', '-M', 'prepared', '-c', String(clients), '-j', String(Math.min(clients, os.availableParallelism())),
      '-t', String(Math.max(1, Math.floor(transactions / clients))), '-f', script, url,
    ], { encoding: 'utf8', timeout: 120_000 });
    const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(r.stdout ?? '');
    return m ? Number(m[1]) : null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(opts: CreateBenchOptions): Promise<Record<string, number | string>> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const quick = opts.quick ?? false;
  const concurrency = opts.concurrency ?? 16;
  const requests = opts.requests ?? (quick ? 500 : 5000);
  const singleRequests = opts.singleRequests ?? (quick ? 200 : 1500);
  const warmup = opts.warmup ?? (quick ? 50 : 200);
  const pool = opts.pool ?? 10;
  const maxSeconds = opts.maxSeconds ?? (quick ? 10 : 20);
  const levels = concurrency === 1 ? [1] : [concurrency, 1];
  const countFor = (c: number) => (c === 1 ? singleRequests : requests);

  const out: Record<string, number | string> = {};
  const rows: (string | number)[][] = [];
  /** A measured phase with the CPU split of its measured part. */
  let postmaster: number | null = null;
  const measure = async (serverPid: number | null, load: Omit<LoadOptions, 'beforeMeasure'>): Promise<Measured> => {
    let before: CpuSnapshot | null = null;
    const r = await runLoad({ ...load, beforeMeasure: () => { before = cpuSnapshot(serverPid, postmaster); } });
    return { ...r, cpu: cpuSince(before ?? cpuSnapshot(serverPid, postmaster), cpuSnapshot(serverPid, postmaster)) };
  };
  const record = (name: string, clients: number, r: Measured, ratio?: number) => {
    const key = `${name}/c${clients}`;
    out[`${key}.ops_per_s`] = round(r.opsPerSecond, 1);
    out[`${key}.p50_ms`] = round(r.p50);
    out[`${key}.p95_ms`] = round(r.p95);
    out[`${key}.p99_ms`] = round(r.p99);
    out[`${key}.max_ms`] = round(r.max);
    out[`${key}.n`] = r.count;
    out[`${key}.errors`] = r.errors;
    if (ratio !== undefined) out[`${key}.vs_raw`] = round(ratio, 3);
    // CPU per operation stays meaningful when other work shares the machine; percentages do not.
    const perOp = (p: number | null) => (p === null || r.opsPerSecond === 0 ? null : (10 * p) / r.opsPerSecond);
    const serverMs = perOp(r.cpu.serverPct);
    const postgresMs = perOp(r.cpu.postgresPct);
    if (serverMs !== null) out[`${key}.server_cpu_ms_per_op`] = round(serverMs, 3);
    if (postgresMs !== null) out[`${key}.postgres_cpu_ms_per_op`] = round(postgresMs, 3);
    out[`${key}.client_cpu_pct`] = Math.round(r.cpu.clientPct);
    out[`${key}.machine_cpu_pct`] = Math.round(r.cpu.machinePct);
    const ms = (x: number | null) => (x === null ? '' : round(x, 3));
    rows.push([name, clients, r.count, round(r.opsPerSecond, 1), round(r.p50), round(r.p95), round(r.p99), r.errors, ratio === undefined ? '' : round(ratio, 3),
      ms(serverMs), ms(postgresMs), Math.round(r.cpu.clientPct), Math.round(r.cpu.machinePct)]);
    if (r.capped) log(`  note: ${key} stopped at the ${maxSeconds} s cap after ${r.count} operations`);
    if (r.firstError) log(`  first error in ${key}: ${r.firstError}`);
  };

  const sql = connect(opts.databaseUrl, { max: 4, applicationName: 'agentgate-bench' });
  let server: ServerChild | null = null;
  try {
    await migrate(sql);
    const [backend] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
    postmaster = backend ? postmasterOf(backend.pid) : null;
    const admin = await createKey(sql, { name: 'bench admin', scopes: ['admin'], rateLimit: null }, SYSTEM_METADATA);

    server = await startServer(opts.databaseUrl, pool);
    out.server = `child process (pid ${server.pid}), pool ${server.pool}`;
    out.clients = `node:http keep-alive in the bench process`;
    log(`create: server in a child process (pid ${server.pid}, Postgres pool ${server.pool}) on 127.0.0.1:${server.port}; clients: ${levels.join(' and ')} keep-alive connection(s) in the bench process`);

    const setup = jsonClient(server.port, 1);
    const agent = expectStatus(
      await setup.request('POST', '/api/keys', { name: 'bench agent', scopes: ['request:create', 'request:read'], rateLimit: null }, { authorization: `Bearer ${admin.key}` }),
      201, 'POST /api/keys',
    ) as { key: string };
    out.policy_created_via = await createPolicy(sql, setup, admin.key);
    setup.close();

    const agentGate: Record<string, Measured> = {};
    for (const clients of levels) {
      for (const { mode, action, expectStatus: expected } of MODES) {
        const client = jsonClient(server.port, clients);
        const headers = { authorization: `Bearer ${agent.key}` };
        // One checked request first: a mode that silently measured the wrong path would be worthless.
        const probe = expectStatus(await client.request('POST', '/api/requests', { action, params: { probe: true } }, headers), 201, 'POST /api/requests');
        if (probe.status !== expected) throw new Error(`mode ${mode}: expected status ${expected}, got ${String(probe.status)}`);
        const r = await measure(server.pid, {
          concurrency: clients, count: countFor(clients), warmup, maxSeconds,
          op: async (i) => {
            const res = await client.request('POST', '/api/requests', { action, params: { to: 'someone@example.com', n: i }, urgency: 'normal' }, headers);
            if (res.status !== 201) throw new Error(`HTTP ${res.status} ${res.body.slice(0, 200)}`);
          },
        });
        client.close();
        agentGate[`${mode}/${clients}`] = r;
        log(`  ${mode} c=${clients}: ${round(r.opsPerSecond, 1)} creates/s, p50 ${round(r.p50)} ms, p99 ${round(r.p99)} ms`);
      }
    }
    await server.stop();
    server = null;

    // The floor to compare against: the same Postgres doing the least durable work a create does (one autocommit row).
    await sql`drop table if exists bench_raw_inserts`;
    await sql`create table bench_raw_inserts (id bigint generated always as identity primary key, v bigint not null)`;
    const raw: Record<number, Measured> = {};
    for (const clients of levels) {
      const db = connect(opts.databaseUrl, { max: clients, applicationName: 'agentgate-bench-raw' });
      try {
        raw[clients] = await measure(null, {
          concurrency: clients, count: countFor(clients), warmup, maxSeconds,
          op: async (i) => { await db`insert into bench_raw_inserts (v) values (${i})`; },
        });
      } finally {
        await db.end({ timeout: 1 });
      }
      log(`  raw insert c=${clients}: ${round(raw[clients]!.opsPerSecond, 1)} rows/s, p50 ${round(raw[clients]!.p50)} ms, p99 ${round(raw[clients]!.p99)} ms`);
    }

    for (const clients of levels) {
      for (const { mode } of MODES) {
        const r = agentGate[`${mode}/${clients}`]!;
        record(mode, clients, r, r.opsPerSecond / raw[clients]!.opsPerSecond);
      }
      record('raw_insert', clients, raw[clients]!);
    }

    if (opts.pgbench !== false) {
      for (const clients of levels) {
        const tps = pgbenchTps(opts.databaseUrl, clients, countFor(clients));
        if (tps === null) {
          out[`pgbench/c${clients}.tps`] = 'not run (pgbench absent or failed)';
          continue;
        }
        out[`pgbench/c${clients}.tps`] = round(tps, 1);
        rows.push(['pgbench (prepared)', clients, countFor(clients), round(tps, 1), '', '', '', '', '', '', '', '', '']);
      }
    }

    log('');
    log(table(['create', 'clients', 'n', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'vs raw', 'server cpu ms/op', 'pg cpu ms/op', 'client cpu%', 'machine cpu%'], rows));
    log('(over the measured phase: CPU ms per operation of the server child and of Postgres; client as % of one core, machine as % of all cores)');
    return out;
  } finally {
    if (server) await server.stop();
    await sql.end({ timeout: 1 });
  }
}
