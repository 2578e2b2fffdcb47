import { randomBytes } from 'node:crypto';
import type { Sql } from '../db/connect.ts';

const SECRET_NAME = 'session_signing_key';

/**
 * The key that signs session tokens: JWT_SECRET (or JWT_SECRET_FILE) when the operator
 * sets one; otherwise one generated on first start and kept in the database, so sessions
 * survive a restart and are honoured by every server process sharing the database.
 */
export async function sessionSigningKey(sql: Sql, configured: string | undefined): Promise<Uint8Array> {
  if (configured) return new TextEncoder().encode(configured);
  // The first process to start writes it; any racing process reads the winner's.
  await sql`insert into server_secrets (name, value) values (${SECRET_NAME}, ${randomBytes(48).toString('base64url')})
            on conflict (name) do nothing`;
  const [row] = await sql<{ value: string }[]>`select value from server_secrets where name = ${SECRET_NAME}`;
  return new TextEncoder().encode(row!.value);
}
