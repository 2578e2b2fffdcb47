/** Snapshots of the projection tables, to compare live rows with rebuilt ones. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Sql } from '../../server/src/db/connect.ts';
import { PROJECTIONS_DIR } from '../../server/src/db/paths.ts';

/** Every table a projection file creates, so a new projection is covered without editing this test. */
export function projectionTableNames(): string[] {
  const names = new Set<string>();
  for (const file of readdirSync(PROJECTIONS_DIR).filter((f) => f.endsWith('.sql')).sort()) {
    const text = readFileSync(path.join(PROJECTIONS_DIR, file), 'utf8').replace(/--[^\n]*/g, '');
    for (const m of text.matchAll(/\bcreate\s+table\s+(?:if\s+not\s+exists\s+)?(?:public\.)?"?(\w+)"?/gi)) names.add(m[1]!.toLowerCase());
  }
  return [...names];
}

/** Rows ordered by primary key (all columns when a table has none), so snapshots compare exactly. */
async function orderColumns(sql: Sql, table: string): Promise<string[]> {
  const pk = await sql<{ attname: string }[]>`
    select a.attname from pg_index i
    join lateral unnest(i.indkey) with ordinality k(attnum, n) on true
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
    where i.indrelid = ${table}::regclass and i.indisprimary
    order by k.n`;
  if (pk.length) return pk.map((r) => r.attname);
  const all = await sql<{ attname: string }[]>`
    select attname from pg_attribute where attrelid = ${table}::regclass and attnum > 0 and not attisdropped order by attnum`;
  return all.map((r) => r.attname);
}

export type Snapshot = Record<string, unknown[]>;

export async function snapshot(sql: Sql, tables: string[]): Promise<Snapshot> {
  const out: Snapshot = {};
  for (const table of tables) {
    const cols = await orderColumns(sql, table);
    out[table] = [...(await sql`select * from ${sql(table)} order by ${sql(cols)}`)];
  }
  return out;
}

/** Damage every non-empty projection table, so that only a real rebuild can restore it. */
export async function tamper(sql: Sql, tables: string[]): Promise<void> {
  for (const table of tables) {
    await sql`delete from ${sql(table)} where ctid = (select ctid from ${sql(table)} limit 1)`;
  }
  await sql`update requests set status = 'bogus', version = version + 100`;
}

