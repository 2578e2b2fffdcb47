/**
 * Request-create throughput and latency over real HTTP, in two modes (auto-approved by a
 * policy, routed to people), in one run on one database next to the two floors it is judged
 * against: the same server answering an authenticated no-op (GET /api/keys/me: one key
 * lookup, no write) and the raw single-row insert rate of the same Postgres. Then what a
 * create writes (WAL bytes, rows and index entries per table), the same creates without group
 * commit, and the same creates on a log grown to a million events, measured interleaved with
 * creates on an empty twin database so that the machine's drift cancels out of the ratio.
 * The server runs as a child process (bench/server.ts); clients run in this process.
 */
import { fork, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type Sql } from '../server/src/db/connect.ts';
import { migrate } from '../server/src/db/migrate.ts';
import { executeCommand } from '../server/src/events/command.ts';
import { installJobSchema } from '../server/src/jobs/schema.ts';
import { streamId } from '../server/src/events/types.ts';
import { newId } from '../server/src/ids.ts';
import { createKey, SYSTEM_METADATA } from '../server/src/keys/commands.ts';
import { jsonClient, type HttpResponse } from './http.ts';
import { cpuSince, cpuSnapshot, postmasterOf, type CpuSnapshot } from './cpu.ts';
import { runLoad, type LoadOptions, type LoadResult } from './load.ts';
import { prefillLog } from './prefill.ts';
import { createWriteFloorTable, WRITE_FLOOR_PATH } from './write-floor.ts';
import { round, summarize, table } from './stats.ts';
import { walInspectAvailable, walMark, walSince, type WalUsage } from './wal.ts';

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
  /**
   * Requests of each kind (floor, each create mode) a newly started server answers before
   * anything on it is measured (default 2,000; 300 with quick).
   */
  serverWarmup?: number;
  /** The server's Postgres pool size (its DB_POOL_SIZE). */
  pool?: number;
  /** Cap per measured phase, in seconds. */
  maxSeconds?: number;
  pgbench?: boolean;
  /** Grow the log to this many events for the prefilled run (0: skip it). Default 1,000,000 (100,000 with quick). */
  prefill?: number;
  /** Also measure with CREATE_GROUP_COMMIT_MS=0 (default true). */
  groupCommitOff?: boolean;
  /** Creates per mode whose WAL is inspected (default 500). */
  walCreates?: number;
  /** Write V8 CPU profiles of the server child to this folder (node --cpu-prof). */
  cpuProfDir?: string;
  log?: (line: string) => void;
}

type Modes = 'auto_approve' | 'route_to_human';
const MODES: { mode: Modes; action: string; expectStatus: string }[] = [
  { mode: 'auto_approve', action: 'bench.auto', expectStatus: 'approved' },
  { mode: 'route_to_human', action: 'bench.human', expectStatus: 'pending' },
];

type Measured = LoadResult & { cpu: ReturnType<typeof cpuSince> };

/**
 * Phases of one kind taken as one: operations over their total time, percentiles over all
 * their samples, CPU shares weighted by each phase's time.
 */
function mergeMeasured(phases: Measured[]): Measured {
  const seconds = phases.reduce((a, r) => a + r.seconds, 0);
  const samples = new Float64Array(phases.reduce((a, r) => a + r.samples.length, 0));
  let at = 0;
  for (const r of phases) { samples.set(r.samples, at); at += r.samples.length; }
  const weighted = (pick: (r: Measured) => number | null) => {
    const values = phases.map(pick);
    return values.some((v) => v === null) || seconds === 0 ? null : values.reduce<number>((a, v, i) => a + v! * phases[i]!.seconds, 0) / seconds;
  };
  return {
    ...summarize(samples),
    samples,
    opsPerSecond: seconds === 0 ? 0 : samples.length / seconds,
    seconds,
    errors: phases.reduce((a, r) => a + r.errors, 0),
    firstError: phases.find((r) => r.firstError !== null)?.firstError ?? null,
    capped: phases.some((r) => r.capped),
    cpu: {
      serverPct: weighted((r) => r.cpu.serverPct),
      postgresPct: weighted((r) => r.cpu.postgresPct),
      clientPct: weighted((r) => r.cpu.clientPct) ?? 0,
      machinePct: weighted((r) => r.cpu.machinePct) ?? 0,
    },
  };
}

const SERVER_ENTRY = fileURLToPath(new URL('./server.ts', import.meta.url));

interface ServerChild {
  port: number;
  pool: number;
  pid: number;
  stop(): Promise<void>;
}

function startServer(databaseUrl: string, pool: number, extra: { groupCommitMs?: number; cpuProfDir?: string } = {}): Promise<ServerChild> {
  const child = fork(SERVER_ENTRY, [], {
    execArgv: ['--import', 'tsx', ...(extra.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', extra.cpuProfDir] : [])],
    env: {
      ...process.env, DATABASE_URL: databaseUrl, DB_POOL_SIZE: String(pool),
      ...(extra.groupCommitMs !== undefined ? { CREATE_GROUP_COMMIT_MS: String(extra.groupCommitMs) } : {}),
    },
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

interface BenchDatabase {
  server: ServerChild;
  adminKey: string;
  agentKey: string;
  policyCreatedVia: 'api' | 'executeCommand';
}

/**
 * What every database the bench measures creates on is given, in the order the server needs
 * it: the schema, then graphile-worker's (as the server installs it at every start, so jobs
 * scheduled by a create land where they land in production), an admin key, a server started
 * on it, then through that server an agent key and the auto-approve policy.
 */
async function setUpDatabase(sql: Sql, url: string, start: () => Promise<ServerChild>): Promise<BenchDatabase> {
  await migrate(sql);
  await createWriteFloorTable(sql);
  await installJobSchema(sql, url);
  const admin = await createKey(sql, { name: 'bench admin', scopes: ['admin'], rateLimit: null }, SYSTEM_METADATA);
  const server = await start();
  const setup = jsonClient(server.port, 1);
  try {
    const agent = expectStatus(
      await setup.request('POST', '/api/keys', { name: 'bench agent', scopes: ['request:create', 'request:read'], rateLimit: null }, { authorization: `Bearer ${admin.key}` }),
      201, 'POST /api/keys',
    ) as { key: string };
    const policyCreatedVia = await createPolicy(sql, setup, admin.key);
    return { server, adminKey: admin.key, agentKey: agent.key, policyCreatedVia };
  } catch (err) {
    await server.stop();
    throw err;
  } finally {
    setup.close();
  }
}

/** A running server and what measuring it needs: its database's agent key, and that database's name (for its Postgres CPU). */
interface Target {
  port: number;
  pid: number;
  headers: Record<string, string>;
  database: string;
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
  const serverWarmup = opts.serverWarmup ?? (quick ? 300 : 2000);
  const pool = opts.pool ?? 10;
  const maxSeconds = opts.maxSeconds ?? (quick ? 10 : 20);
  const prefill = opts.prefill ?? (quick ? 100_000 : 1_000_000);
  const walCreates = opts.walCreates ?? (quick ? 200 : 500);
  const levels = concurrency === 1 ? [1] : [concurrency, 1];
  const countFor = (c: number) => (c === 1 ? singleRequests : requests);
  const database = decodeURIComponent(new URL(opts.databaseUrl).pathname.slice(1));
  const loadAverage = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

  const out: Record<string, number | string> = {};
  out.load_average_at_start = loadAverage();
  let postmaster: number | null = null;
  // Postgres CPU counts the measured database's backends only: the server may be shared.
  const snapshot = (serverPid: number | null, db: string) => cpuSnapshot(serverPid, postmaster, db);
  /** A measured phase with the CPU split of its measured part. */
  const measure = async (serverPid: number | null, load: Omit<LoadOptions, 'beforeMeasure'>, db = database): Promise<Measured> => {
    let before: CpuSnapshot | null = null;
    const r = await runLoad({ ...load, beforeMeasure: () => { before = snapshot(serverPid, db); } });
    return { ...r, cpu: cpuSince(before ?? snapshot(serverPid, db), snapshot(serverPid, db)) };
  };
  // CPU per operation stays meaningful when other work shares the machine; percentages do not.
  const perOp = (r: Measured, p: number | null) => (p === null || r.opsPerSecond === 0 ? null : (10 * p) / r.opsPerSecond);
  const ms = (x: number | null) => (x === null ? '' : round(x, 3));
  const record = (key: string, r: Measured, ratios: Record<string, number> = {}) => {
    out[`${key}.ops_per_s`] = round(r.opsPerSecond, 1);
    out[`${key}.p50_ms`] = round(r.p50);
    out[`${key}.p95_ms`] = round(r.p95);
    out[`${key}.p99_ms`] = round(r.p99);
    out[`${key}.max_ms`] = round(r.max);
    out[`${key}.n`] = r.count;
    out[`${key}.errors`] = r.errors;
    for (const [name, value] of Object.entries(ratios)) out[`${key}.${name}`] = round(value, 3);
    const serverMs = perOp(r, r.cpu.serverPct);
    const postgresMs = perOp(r, r.cpu.postgresPct);
    if (serverMs !== null) out[`${key}.server_cpu_ms_per_op`] = round(serverMs, 3);
    if (postgresMs !== null) out[`${key}.postgres_cpu_ms_per_op`] = round(postgresMs, 3);
    out[`${key}.client_cpu_pct`] = Math.round(r.cpu.clientPct);
    out[`${key}.machine_cpu_pct`] = Math.round(r.cpu.machinePct);
    if (r.capped) log(`  note: ${key} stopped at the ${maxSeconds} s cap after ${r.count} operations`);
    if (r.firstError) log(`  first error in ${key}: ${r.firstError}`);
  };
  const row = (name: string, clients: number | string, r: Measured, ratios: (number | undefined)[]) => [
    name, clients, r.count, round(r.opsPerSecond, 1), round(r.p50), round(r.p95), round(r.p99), r.errors,
    ...ratios.map((x) => (x === undefined ? '' : round(x, 3))),
    ms(perOp(r, r.cpu.serverPct)), ms(perOp(r, r.cpu.postgresPct)), Math.round(r.cpu.clientPct), Math.round(r.cpu.machinePct),
  ];

  const sql = connect(opts.databaseUrl, { max: 4, applicationName: 'agentgate-bench' });
  let server: ServerChild | null = null;
  try {
    const main = await setUpDatabase(sql, opts.databaseUrl, () => startServer(opts.databaseUrl, pool, { cpuProfDir: opts.cpuProfDir }));
    server = main.server;
    const [backend] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
    postmaster = backend ? postmasterOf(backend.pid) : null;
    const inspectWal = await walInspectAvailable(sql);
    out.server = `child process (pid ${server.pid}), pool ${server.pool}`;
    out.clients = `node:http keep-alive in the bench process`;
    log(`create: server in a child process (pid ${server.pid}, Postgres pool ${server.pool}) on 127.0.0.1:${server.port}; clients: ${levels.join(' and ')} keep-alive connection(s) in the bench process; load average ${out.load_average_at_start}`);
    out.policy_created_via = main.policyCreatedVia;
    const headers = { authorization: `Bearer ${main.agentKey}` };
    /** A server on the main database. */
    const onMain = (s: ServerChild): Target => ({ port: s.port, pid: s.pid, headers, database });

    /** Creates of one mode against the running server; the first one is checked to take the mode's path. */
    const creates = async (target: Target, clients: number, count: number, mode: typeof MODES[number], tag: string) => {
      const client = jsonClient(target.port, clients);
      try {
        // One checked request first: a mode that silently measured the wrong path would be worthless.
        const probe = expectStatus(await client.request('POST', '/api/requests', { action: mode.action, params: { probe: tag } }, target.headers), 201, 'POST /api/requests');
        if (probe.status !== mode.expectStatus) throw new Error(`mode ${mode.mode}: expected status ${mode.expectStatus}, got ${String(probe.status)}`);
        return await measure(target.pid, {
          concurrency: clients, count, warmup, maxSeconds,
          op: async (i) => {
            const res = await client.request('POST', '/api/requests', { action: mode.action, params: { to: 'someone@example.com', n: i, run: tag }, urgency: 'normal' }, target.headers);
            if (res.status !== 201) throw new Error(`HTTP ${res.status} ${res.body.slice(0, 200)}`);
          },
        }, target.database);
      } finally {
        client.close();
      }
    };

    /**
     * A newly started server, and its new Postgres connections, are slow at first: V8 has
     * not optimised the create path yet, and each backend compiles the trigger functions and
     * fills its caches on first use. A phase's own warm-up of a few hundred requests is not
     * enough for that, so whichever mode ran first paid for it (the auto-approved creates
     * measured 0.40 server ms/op first and 0.30 after the routed ones). Every kind of request
     * is therefore sent `serverWarmup` times before anything on a server is measured.
     */
    const warmServer = async (target: Target, kinds: ('floor' | 'write_floor' | typeof MODES[number])[]) => {
      const client = jsonClient(target.port, concurrency);
      try {
        for (const kind of kinds) {
          const r = await runLoad({
            concurrency, count: serverWarmup, warmup: 0, maxSeconds,
            op: async (i) => {
              const res = kind === 'floor'
                ? await client.request('GET', '/api/keys/me', undefined, target.headers)
                : await client.request('POST', kind === 'write_floor' ? WRITE_FLOOR_PATH : '/api/requests', {
                  action: kind === 'write_floor' ? 'bench.write_floor' : kind.action, params: { to: 'someone@example.com', n: i, run: 'server-warmup' }, urgency: 'normal',
                }, target.headers);
              if (res.status !== (kind === 'floor' ? 200 : 201)) throw new Error(`HTTP ${res.status} ${res.body.slice(0, 200)}`);
            },
          });
          if (r.errors > 0) throw new Error(`server warm-up (${typeof kind === 'string' ? kind : kind.mode}): ${r.firstError}`);
        }
      } finally {
        client.close();
      }
    };
    out.server_warmup = `${serverWarmup} requests of each floor and of each mode before a server's first measurement`;

    // (a) creates, (b) the HTTP floor and (b') the write floor, on the same server, at each client count.
    await warmServer(onMain(server), ['floor', 'write_floor', ...MODES]);
    const floor: Record<number, Measured> = {};
    const writeFloor: Record<number, Measured> = {};
    const agentGate: Record<string, Measured> = {};
    for (const clients of levels) {
      const client = jsonClient(server.port, clients);
      expectStatus(await client.request('GET', '/api/keys/me', undefined, headers), 200, 'GET /api/keys/me');
      floor[clients] = await measure(server.pid, {
        concurrency: clients, count: countFor(clients), warmup, maxSeconds,
        op: async () => {
          const res = await client.request('GET', '/api/keys/me', undefined, headers);
          if (res.status !== 200) throw new Error(`HTTP ${res.status} ${res.body.slice(0, 200)}`);
        },
      });
      log(`  floor (GET /api/keys/me) c=${clients}: ${round(floor[clients]!.opsPerSecond, 1)} requests/s, p50 ${round(floor[clients]!.p50)} ms, p99 ${round(floor[clients]!.p99)} ms`);
      writeFloor[clients] = await measure(server.pid, {
        concurrency: clients, count: countFor(clients), warmup, maxSeconds,
        op: async (i) => {
          const res = await client.request('POST', WRITE_FLOOR_PATH, { action: 'bench.write_floor', params: { to: 'someone@example.com', n: i, run: 'main' }, urgency: 'normal' }, headers);
          if (res.status !== 201) throw new Error(`HTTP ${res.status} ${res.body.slice(0, 200)}`);
        },
      });
      client.close();
      log(`  write floor (POST ${WRITE_FLOOR_PATH}) c=${clients}: ${round(writeFloor[clients]!.opsPerSecond, 1)} requests/s, p50 ${round(writeFloor[clients]!.p50)} ms, p99 ${round(writeFloor[clients]!.p99)} ms`);
      for (const mode of MODES) {
        const r = await creates(onMain(server), clients, countFor(clients), mode, 'main');
        agentGate[`${mode.mode}/${clients}`] = r;
        log(`  ${mode.mode} c=${clients}: ${round(r.opsPerSecond, 1)} creates/s, p50 ${round(r.p50)} ms, p99 ${round(r.p99)} ms`);
      }
    }

    // What one create writes: WAL attributed to this database, over a phase of its own.
    const wal: Record<string, WalUsage & { creates: number }> = {};
    const walPhase = async (target: Target, tag: string) => {
      for (const mode of MODES) {
        const mark = await walMark(sql, inspectWal);
        const r = await creates(target, concurrency, walCreates, mode, `wal-${tag}`);
        // The probe and the warm-up are creates of the same mode too.
        const n = r.count + r.errors + warmup + 1;
        wal[`${mode.mode}/${tag}`] = { ...(await walSince(sql, mark, inspectWal)), creates: n };
      }
    };
    await walPhase(onMain(server), 'group_commit');
    await server.stop();
    server = null;

    // (e) Without group commit: each create appended by its own statement.
    const noGroup: Record<string, Measured> = {};
    if (opts.groupCommitOff !== false) {
      server = await startServer(opts.databaseUrl, pool, { groupCommitMs: 0 });
      await warmServer(onMain(server), [...MODES]);
      for (const mode of MODES) {
        const r = await creates(onMain(server), concurrency, requests, mode, 'no-group-commit');
        noGroup[mode.mode] = r;
        log(`  ${mode.mode} c=${concurrency}, CREATE_GROUP_COMMIT_MS=0: ${round(r.opsPerSecond, 1)} creates/s, p50 ${round(r.p50)} ms, p99 ${round(r.p99)} ms`);
      }
      await walPhase(onMain(server), 'no_group_commit');
      await server.stop();
      server = null;
    }

    // (c) The floor of a durable write on this Postgres: one autocommit row.
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
    const rawMark = await walMark(sql, inspectWal);
    for (let i = 0; i < walCreates; i++) await sql`insert into bench_raw_inserts (v) values (${i})`;
    const rawWal = await walSince(sql, rawMark, inspectWal);

    // (d) The same creates on a log grown to `prefill` events, unanalysed, autovacuum off,
    // against an empty twin database measured in the same minutes. This machine's speed
    // drifts by 20-40% over minutes when it is shared, so a ratio to the main run's creates,
    // measured minutes earlier, mostly measures the drift: the rounds alternate empty,
    // grown, grown, empty, which cancels any drift linear in time.
    const ABBA = ['empty', 'grown', 'grown', 'empty'] as const;
    const prefilled: Record<string, { database: typeof ABBA[number]; r: Measured }[]> = {};
    if (prefill > 0) {
      const [autoSeed] = await sql<{ id: string }[]>`select id from requests where action = 'bench.auto' and status = 'approved' order by created_at desc limit 1`;
      const [pendingSeed] = await sql<{ id: string }[]>`select id from requests where action = 'bench.human' and status = 'pending' order by created_at desc limit 1`;
      if (!autoSeed || !pendingSeed) throw new Error('prefill: no seed requests');
      server = await startServer(opts.databaseUrl, pool);
      const decider = jsonClient(server.port, 1);
      expectStatus(await decider.request('POST', `/api/requests/${pendingSeed.id}/decide`, { decision: 'approved', reason: 'seed of the prefilled log' }, { authorization: `Bearer ${main.adminKey}` }), 200, 'decide the seed');
      decider.close();
      await server.stop();
      server = null;
      log(`  growing the log to ${prefill.toLocaleString('en')} events (SQL generation, triggers and autovacuum off)…`);
      const grown = await prefillLog(sql, prefill, autoSeed.id, pendingSeed.id);
      out.prefill = `${grown.events} events (${grown.streams} request streams added in ${round(grown.seconds, 1)} s), not analysed, autovacuum off`;
      log(`  ${out.prefill}`);
      const twinName = `agentgate_bench_empty_${randomBytes(6).toString('hex')}`;
      const twinUrl = new URL(opts.databaseUrl);
      twinUrl.pathname = `/${encodeURIComponent(twinName)}`;
      await sql`create database ${sql(twinName)}`;
      const twinSql = connect(twinUrl.toString(), { max: 4, applicationName: 'agentgate-bench' });
      let twinServer: ServerChild | null = null;
      try {
        // Set up before the checkpoint, so that it writes out the twin's new files too.
        const twin = await setUpDatabase(twinSql, twinUrl.toString(), () => startServer(twinUrl.toString(), pool));
        twinServer = twin.server;
        const empty: Target = { port: twin.server.port, pid: twin.server.pid, headers: { authorization: `Bearer ${twin.agentKey}` }, database: twinName };
        // The bulk load leaves shared_buffers full of dirty pages and the kernel with
        // gigabytes of unwritten files: creates measured at once would pay for writing out the
        // load. A server restarted on an old database finds them written, so they are
        // written first (no VACUUM or ANALYZE: the log stays unanalysed).
        const tCheckpoint = performance.now();
        try {
          await sql`checkpoint`;
          out.prefill_checkpoint = `CHECKPOINT after the load, before the server on the grown log started (${round((performance.now() - tCheckpoint) / 1000, 1)} s)`;
        } catch (err) {
          // CHECKPOINT needs a superuser or pg_checkpoint; without it the figures carry the load's writes.
          out.prefill_checkpoint = `no CHECKPOINT after the load (${err instanceof Error ? err.message : String(err)}): the prefilled figures include writing it out`;
        }
        log(`  ${out.prefill_checkpoint}`);
        // A server started on the grown log, as one restarted on an old database; both servers
        // stay up through the rounds, each warmed up as every server is.
        server = await startServer(opts.databaseUrl, pool);
        const grownLog = onMain(server);
        await warmServer(empty, ['floor', ...MODES]);
        await warmServer(grownLog, ['floor', ...MODES]);
        out.prefill_comparison = `per mode at ${concurrency} clients, ${requests} creates a round, in the order ${ABBA.join(', ')}: an empty twin database (set up as the main one) against the grown log; vs_empty = sum of the grown rounds' creates/s ÷ the empty rounds' (Postgres CPU per create likewise)`;
        for (const mode of MODES) {
          prefilled[mode.mode] = [];
          for (const [i, which] of ABBA.entries()) {
            const r = await creates(which === 'empty' ? empty : grownLog, concurrency, requests, mode, `prefilled-${which}-${i + 1}`);
            prefilled[mode.mode]!.push({ database: which, r });
            log(`  ${mode.mode} c=${concurrency}, round ${i + 1}, ${which === 'empty' ? 'empty twin' : `${grown.events} events`}: ${round(r.opsPerSecond, 1)} creates/s, p50 ${round(r.p50)} ms, p99 ${round(r.p99)} ms`);
          }
        }
        await server.stop();
        server = null;
      } finally {
        if (twinServer) await twinServer.stop();
        await twinSql.end({ timeout: 1 });
        await sql`drop database if exists ${sql(twinName)} with (force)`;
      }
    }

    // Figures and tables.
    const mainRows: (string | number)[][] = [];
    for (const clients of levels) {
      record(`floor/c${clients}`, floor[clients]!, { vs_raw: floor[clients]!.opsPerSecond / raw[clients]!.opsPerSecond });
      mainRows.push(row('floor: GET /api/keys/me', clients, floor[clients]!, [undefined, undefined, floor[clients]!.opsPerSecond / raw[clients]!.opsPerSecond]));
      const wf = writeFloor[clients]!;
      const wfVsFloor = wf.opsPerSecond / floor[clients]!.opsPerSecond;
      record(`write_floor/c${clients}`, wf, { vs_floor: wfVsFloor, vs_raw: wf.opsPerSecond / raw[clients]!.opsPerSecond });
      mainRows.push(row(`write floor: POST ${WRITE_FLOOR_PATH}`, clients, wf, [wfVsFloor, undefined, wf.opsPerSecond / raw[clients]!.opsPerSecond]));
      for (const { mode } of MODES) {
        const r = agentGate[`${mode}/${clients}`]!;
        const vsFloor = r.opsPerSecond / floor[clients]!.opsPerSecond;
        const vsWriteFloor = r.opsPerSecond / wf.opsPerSecond;
        const vsRaw = r.opsPerSecond / raw[clients]!.opsPerSecond;
        record(`${mode}/c${clients}`, r, { vs_floor: vsFloor, vs_write_floor: vsWriteFloor, vs_raw: vsRaw });
        mainRows.push(row(mode, clients, r, [vsFloor, vsWriteFloor, vsRaw]));
      }
      record(`raw_insert/c${clients}`, raw[clients]!);
      mainRows.push(row('raw insert', clients, raw[clients]!, [undefined, undefined, undefined]));
    }
    if (opts.pgbench !== false) {
      for (const clients of levels) {
        const tps = pgbenchTps(opts.databaseUrl, clients, countFor(clients));
        if (tps === null) {
          out[`pgbench/c${clients}.tps`] = 'not run (pgbench absent or failed)';
          continue;
        }
        out[`pgbench/c${clients}.tps`] = round(tps, 1);
        mainRows.push(['pgbench (prepared)', clients, countFor(clients), round(tps, 1), '', '', '', '', '', '', '', '', '', '', '']);
      }
    }
    log('');
    log(table(['create', 'clients', 'n', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'vs floor', 'vs write floor', 'vs raw', 'server cpu ms/op', 'pg cpu ms/op', 'client cpu%', 'machine cpu%'], mainRows));
    log(`(over the measured phase: CPU ms per operation of the server child and of this database's Postgres backends; client as % of one core, machine as % of all cores; the write floor is the same server answering a create's body and key by writing one row, group-committed as creates are, and nothing else: see bench/write-floor.ts)`);

    if (opts.groupCommitOff !== false) {
      const gcRows: (string | number)[][] = [];
      for (const { mode } of MODES) {
        const on = agentGate[`${mode}/${concurrency}`]!;
        const off = noGroup[mode]!;
        record(`${mode}/c${concurrency}/no_group_commit`, off, { vs_group_commit: off.opsPerSecond / on.opsPerSecond });
        gcRows.push(row(`${mode}, CREATE_GROUP_COMMIT_MS default`, concurrency, on, [undefined]));
        gcRows.push(row(`${mode}, CREATE_GROUP_COMMIT_MS=0`, concurrency, off, [off.opsPerSecond / on.opsPerSecond]));
      }
      log('');
      log(table(['group commit', 'clients', 'n', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'vs on', 'server cpu ms/op', 'pg cpu ms/op', 'client cpu%', 'machine cpu%'], gcRows));
    }

    if (prefill > 0) {
      const pfRows: (string | number)[][] = [];
      const events = `${prefill.toLocaleString('en')} events`;
      const pgPerOp = (r: Measured) => perOp(r, r.cpu.postgresPct);
      /** Sum over rounds; null when a round has no figure. */
      const total = (xs: (number | null)[]) => (xs.some((x) => x === null) ? null : xs.reduce<number>((a, x) => a + x!, 0));
      for (const { mode } of MODES) {
        const rounds = prefilled[mode]!;
        const of = (which: typeof ABBA[number]) => rounds.filter((x) => x.database === which).map((x) => x.r);
        const [emptyRounds, grownRounds] = [of('empty'), of('grown')];
        const ratios: Record<string, number> = {
          vs_empty: total(grownRounds.map((r) => r.opsPerSecond))! / total(emptyRounds.map((r) => r.opsPerSecond))!,
        };
        const [pgGrown, pgEmpty] = [total(grownRounds.map(pgPerOp)), total(emptyRounds.map(pgPerOp))];
        if (pgGrown !== null && pgEmpty !== null && pgEmpty > 0) ratios.postgres_cpu_vs_empty = pgGrown / pgEmpty;
        // Against the main run's creates, minutes earlier: what the headline figure replaced.
        const grown = mergeMeasured(grownRounds);
        const mainRun = agentGate[`${mode}/${concurrency}`]!;
        ratios.vs_main_run = grown.opsPerSecond / mainRun.opsPerSecond;
        const [pgMerged, pgMain] = [pgPerOp(grown), pgPerOp(mainRun)];
        if (pgMerged !== null && pgMain !== null && pgMain > 0) ratios.postgres_cpu_vs_main_run = pgMerged / pgMain;
        record(`${mode}/c${concurrency}/prefilled`, grown, ratios);
        rounds.forEach(({ database: which, r }, i) => {
          record(`${mode}/c${concurrency}/prefilled/round${i + 1}_${which}`, r);
          pfRows.push(row(`${mode}, round ${i + 1}: ${which === 'empty' ? 'empty twin' : events}`, concurrency, r, [undefined, undefined]));
        });
        pfRows.push(row(`${mode}, ${events}, rounds 2+3 vs 1+4`, concurrency, grown, [ratios.vs_empty, ratios.postgres_cpu_vs_empty]));
        pfRows.push(row(`${mode}, main run's fresh database (2+3 ÷ it)`, concurrency, mainRun, [ratios.vs_main_run, ratios.postgres_cpu_vs_main_run]));
      }
      log('');
      log(table(['log size', 'clients', 'n', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'ops vs empty', 'pg cpu vs empty', 'server cpu ms/op', 'pg cpu ms/op', 'client cpu%', 'machine cpu%'], pfRows));
      log(`(the headline ratios are "rounds 2+3 vs 1+4": the grown log's creates against the empty twin's, measured interleaved; the "main run's fresh database" row shows the creates measured minutes earlier with the grown rounds' ratio to them, as this table gave before: that ratio carries the machine's drift)`);
    }

    const walRows: (string | number)[][] = [];
    const walOut = (key: string, w: WalUsage, n: number) => {
      out[`${key}.wal_bytes_per_op`] = Math.round(w.bytes / n);
      if (w.method === 'pg_walinspect') {
        out[`${key}.wal_records_per_op`] = round(w.records / n, 1);
        out[`${key}.wal_fpi_bytes_per_op`] = Math.round(w.fpiBytes / n);
      }
      const tables = w.tables.filter((x) => x.rows > 0 || x.indexEntries > 0);
      out[`${key}.rows_per_op`] = round(tables.reduce((a, x) => a + x.rows, 0) / n, 2);
      out[`${key}.index_entries_per_op`] = round(tables.reduce((a, x) => a + x.indexEntries, 0) / n, 2);
      walRows.push([key, n, Math.round(w.bytes / n), w.method === 'pg_walinspect' ? round(w.records / n, 1) : '', w.method === 'pg_walinspect' ? Math.round(w.fpiBytes / n) : '',
        tables.map((x) => `${x.table} ${round(x.rows / n, 2)}+${round(x.indexEntries / n, 2)}`).join(', ')]);
    };
    for (const [key, w] of Object.entries(wal)) walOut(`wal/${key}`, w, w.creates);
    walOut('wal/raw_insert', rawWal, walCreates);
    out.wal_method = rawWal.method;
    log('');
    log(table(['WAL per operation', 'n', 'bytes', 'records', 'of which FPI bytes', 'per table: rows+index entries written per operation'], walRows));
    log(`(WAL read with ${rawWal.method}; attributed to this database's transactions, commit records included)`);
    out.load_average_at_end = loadAverage();
    log(`load average at the start ${out.load_average_at_start}, at the end ${out.load_average_at_end} (${os.availableParallelism()} CPUs)`);
    return out;
  } finally {
    if (server) await server.stop();
    await sql.end({ timeout: 1 });
  }
}
