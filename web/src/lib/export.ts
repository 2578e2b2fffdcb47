/** Exports of request lists: NDJSON (one JSON object a line) or CSV (RFC 4180 quoting). */
import type { ApprovalRequest } from '@agentgate/sdk';

export const CSV_COLUMNS = ['id', 'action', 'status', 'urgency', 'createdAt', 'decidedAt', 'decidedBy', 'decisionReason', 'expiresAt', 'params', 'context'] as const;

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  // Quoted when needed; a leading = + - @ is prefixed so spreadsheets do not run it as a formula.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvHeader(): string {
  return CSV_COLUMNS.join(',') + '\r\n';
}

export function csvRow(r: ApprovalRequest): string {
  return CSV_COLUMNS.map((c) => csvCell((r as Record<string, unknown>)[c])).join(',') + '\r\n';
}

export function ndjsonRow(r: ApprovalRequest): string {
  return JSON.stringify(r) + '\n';
}
