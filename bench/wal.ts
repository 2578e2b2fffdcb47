/**
 * What a phase wrote to the WAL, for one database of a possibly shared Postgres: bytes,
 * records, heap rows and index entries per table, read with pg_walinspect.
 *
 * A WAL position delta counts every database of the server; here the records are
 * attributed instead: every record of a transaction that touched one of this database's
 * relations (its commit record included), and the transaction-less records that name one
 * (page pruning, full-page images for hint bits). Without pg_walinspect (not installed,
 * or no superuser) the figure falls back to the plain position delta, and says so.
 */
import type { Sql } from '../server/src/db/connect.ts';

export interface WalMark {
  lsn: string;
  /** The connection holding the slot that keeps the phase's WAL from being recycled. */
  holder: { conn: ReservedSql; slot: string } | null;
}

type ReservedSql = Awaited<ReturnType<Sql['reserve']>>;
let slots = 0;

export interface TableWrites {
  /** A table (its indexes counted with it), or a record kind without a relation. */
  table: string;
  /** Heap rows inserted, updated (HOT or not), deleted or locked. */
  rows: number;
  /** Entries added to the table's indexes. */
  indexEntries: number;
  bytes: number;
}

export interface WalUsage {
  bytes: number;
  records: number;
  /** Full-page images inside `bytes`: first touches of a page after a checkpoint. */
  fpiBytes: number;
  /** Per table, heaviest first; empty when attributed by position delta only. */
  tables: TableWrites[];
  /** 'pg_walinspect' or 'lsn delta (every database of the server)'. */
  method: string;
}

/** Installs pg_walinspect when it can; false means the position-delta fallback. */
export async function walInspectAvailable(sql: Sql): Promise<boolean> {
  try {
    await sql`create extension if not exists pg_walinspect`;
    return true;
  } catch {
    return false;
  }
}

/**
 * The start of a phase. A temporary physical replication slot reserves the WAL from here
 * until walSince() has read it: a checkpoint during the phase would otherwise recycle the
 * segments (a shared server writes others' WAL too). Without the right to create one, the
 * read may fail and fall back to the position delta.
 */
export async function walMark(sql: Sql, inspect: boolean): Promise<WalMark> {
  let holder: WalMark['holder'] = null;
  if (inspect) {
    const conn = await sql.reserve();
    const slot = `agentgate_bench_${process.pid}_${++slots}`;
    try {
      await conn`select pg_create_physical_replication_slot(${slot}, true, true)`;
      holder = { conn, slot };
    } catch {
      conn.release();
    }
  }
  const [row] = await sql<{ lsn: string }[]>`select pg_current_wal_insert_lsn()::text as lsn`;
  return { lsn: row!.lsn, holder };
}

async function release(mark: WalMark): Promise<void> {
  if (!mark.holder) return;
  await mark.holder.conn`select pg_drop_replication_slot(${mark.holder.slot})`.catch(() => {});
  mark.holder.conn.release();
}

export async function walSince(sql: Sql, start: WalMark, inspect: boolean): Promise<WalUsage> {
  try {
    return await readWal(sql, start, inspect);
  } catch (err) {
    // WAL recycled before it was read (no slot could hold it): the delta is all there is.
    if (!inspect || !/has already been removed/.test(String(err))) throw err;
    return { ...(await readWal(sql, start, false)), method: 'lsn delta (every database of the server; the WAL was recycled before it was read)' };
  } finally {
    await release(start);
  }
}

async function readWal(sql: Sql, start: WalMark, inspect: boolean): Promise<WalUsage> {
  // The end must be flushed for pg_walinspect to read it.
  const [end] = await sql<{ lsn: string }[]>`select pg_current_wal_flush_lsn()::text as lsn`;
  if (!inspect) {
    const [d] = await sql<{ bytes: string }[]>`select pg_wal_lsn_diff(${end!.lsn}::pg_lsn, ${start.lsn}::pg_lsn)::bigint as bytes`;
    return { bytes: Number(d!.bytes), records: 0, fpiBytes: 0, tables: [], method: 'lsn delta (every database of the server)' };
  }
  const rows = await sql<{ filenode: string | null; rmgr: string; rtype: string; n: string; bytes: string; fpi: string }[]>`
    with db as (select '/' || oid || '/' as tag from pg_database where datname = current_database()),
    r as (
      select xid, resource_manager as rmgr, record_type as rtype, record_length, fpi_length,
             (regexp_match(block_ref, 'rel \\d+/\\d+/(\\d+)'))[1] as filenode,
             block_ref like '%' || (select tag from db) || '%' as ours
      from pg_get_wal_records_info(${start.lsn}::pg_lsn, ${end!.lsn}::pg_lsn)
    ),
    xids as (select distinct xid from r where ours and xid <> '0'::xid)
    select case when ours then filenode end as filenode, rmgr, rtype,
           count(*) as n, sum(record_length) as bytes, sum(fpi_length) as fpi
    from r
    where ours or (xid <> '0'::xid and xid in (select xid from xids))
    group by 1, 2, 3`;
  // Relation file → its table (an index counts under the table it indexes).
  const tableOf = new Map((await sql<{ filenode: string; name: string; index: boolean }[]>`
    select pg_relation_filenode(c.oid)::text as filenode, coalesce(t.relname, c.relname) as name, c.relkind = 'i' as index
    from pg_class c left join pg_index i on i.indexrelid = c.oid left join pg_class t on t.oid = i.indrelid
    where pg_relation_filenode(c.oid) is not null`).map((r) => [r.filenode, r]));
  const HEAP_ROW = /^(INSERT|UPDATE|HOT_UPDATE|DELETE|LOCK|MULTI_INSERT)(\+INIT)?$/;
  const INDEX_ENTRY = /^INSERT_(LEAF|UPPER|POST)$/;
  const byTable = new Map<string, TableWrites>();
  let bytes = 0;
  let records = 0;
  let fpiBytes = 0;
  for (const r of rows) {
    bytes += Number(r.bytes);
    records += Number(r.n);
    fpiBytes += Number(r.fpi);
    const rel = r.filenode === null ? undefined : tableOf.get(r.filenode);
    const name = r.filenode === null ? `(${r.rmgr.toLowerCase()} records)` : rel?.name ?? `filenode ${r.filenode}`;
    const entry = byTable.get(name) ?? { table: name, rows: 0, indexEntries: 0, bytes: 0 };
    entry.bytes += Number(r.bytes);
    if ((r.rmgr === 'Heap' || r.rmgr === 'Heap2') && HEAP_ROW.test(r.rtype)) entry.rows += Number(r.n);
    if (r.rmgr === 'Btree' && INDEX_ENTRY.test(r.rtype)) entry.indexEntries += Number(r.n);
    byTable.set(name, entry);
  }
  return { bytes, records, fpiBytes, tables: [...byTable.values()].sort((a, b) => b.bytes - a.bytes), method: 'pg_walinspect' };
}
