/**
 * Group commit for creates (db/group-commit.ts): concurrent creates evaluated with the same
 * policy version share one append statement, which appends them only while that version is
 * still current (append-creates.ts).
 */
import type { Sql } from '../db/connect.ts';
import { GroupCommit, type GroupCommitOptions } from '../db/group-commit.ts';
import { appendCreates, type AppendedCreate, type NewRequest } from './append-creates.ts';

export type { GroupCommitOptions };

/** The server's window for creates when CREATE_GROUP_COMMIT_MS is unset, in ms. */
export const DEFAULT_GROUP_COMMIT_MS = 1;

export class CreateAppender {
  private readonly batches: GroupCommit<NewRequest, AppendedCreate | null, number>;

  constructor(sql: Sql, options: GroupCommitOptions) {
    // A statement refused for a changed policy set appended none of its creates.
    this.batches = new GroupCommit(async (items, policyVersion) => (await appendCreates(sql, items, policyVersion)) ?? items.map(() => null), options);
  }

  get stats() {
    return this.batches.stats;
  }

  /** Appends one create; null when the policies changed since `policyVersion` (nothing appended). */
  append(item: NewRequest, policyVersion: number): Promise<AppendedCreate | null> {
    return this.batches.add(item, policyVersion);
  }
}
