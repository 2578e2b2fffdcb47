/**
 * The AgentGate HTTP server as the benchmark runs it: a child process of its own, so the
 * load generator and the server do not compete for one event loop. Reports its port
 * over IPC and stops on "stop" or when the parent goes away.
 */
import { connect } from '../server/src/db/connect.ts';
import { buildApp } from '../server/src/http/app.ts';
import { DEFAULT_GROUP_COMMIT_MS } from '../server/src/requests/group-commit.ts';
import { writeFloorRoutes } from './write-floor.ts';

const url = process.env.DATABASE_URL;
if (!url || !process.send) {
  console.error('bench/server.ts is started by bench/create.ts (needs DATABASE_URL and an IPC channel)');
  process.exit(2);
}
const pool = Number(process.env.DB_POOL_SIZE ?? 10);
const sql = connect(url, { max: pool, applicationName: 'agentgate-bench-server' });
// One bench key stands for a thousand agents (1,000 long-polls, 1,000 streams at once):
// the per-key caps that keep one real key from holding that many are lifted here.
// CREATE_GROUP_COMMIT_MS as the server reads it (unset: the server's default).
const groupCommit = process.env.CREATE_GROUP_COMMIT_MS;
const groupCommitMs = groupCommit !== undefined && groupCommit !== '' ? Number(groupCommit) : undefined;
// REQUEST_DEFAULT_TTL_SECONDS as the server reads it: set, every create has an expiry.
const ttl = process.env.REQUEST_DEFAULT_TTL_SECONDS;
const app = await buildApp({
  sql, logLevel: 'silent',
  ...(groupCommitMs !== undefined ? { createGroupCommitMs: groupCommitMs } : {}),
  ...(ttl !== undefined && ttl !== '' ? { requestDefaultTtlSeconds: Number(ttl) } : {}),
  liveCaps: { perKey: { longpoll: 100_000, websocket: 100_000, follower: 100 }, total: 1_000_000 },
  // The write floor the creates are compared with (bench/write-floor.ts).
  routes: [writeFloorRoutes({ groupCommitMs: groupCommitMs ?? DEFAULT_GROUP_COMMIT_MS })],
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.send({ port: typeof address === 'object' && address ? address.port : 0, pool });

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await app.close().catch(() => {});
  await sql.end({ timeout: 1 }).catch(() => {});
  process.exit(0);
}
process.on('message', (m) => { if (m === 'stop') void stop(); });
process.on('disconnect', () => void stop());
