import pc from 'picocolors';
import type { ApprovalRequest, LiveEvent } from '@agentgate/sdk';

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const visibleLength = (s: string) => s.replace(ANSI, '').length;
const pad = (s: string, width: number) => s + ' '.repeat(Math.max(0, width - visibleLength(s)));

export interface Column<T> {
  header: string;
  value: (row: T) => string;
}

export function table<T>(rows: T[], columns: Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => c.value(r)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => visibleLength(row[i]!))));
  const line = (parts: string[]) => parts.map((p, i) => (i === parts.length - 1 ? p : pad(p, widths[i]!))).join('  ').trimEnd();
  return [pc.bold(line(columns.map((c) => c.header))), ...cells.map(line)].join('\n');
}

/** A label/value block for one object. */
export function fields(pairs: [string, string | null | undefined][]): string {
  const shown = pairs.filter((p): p is [string, string] => p[1] !== undefined && p[1] !== null && p[1] !== '');
  const width = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${pc.dim(pad(k, width))}  ${v}`).join('\n');
}

export function colorStatus(status: string): string {
  switch (status) {
    case 'pending': return pc.yellow(status);
    case 'approved': return pc.green(status);
    case 'denied': return pc.red(status);
    case 'expired': case 'cancelled': return pc.gray(status);
    default: return status;
  }
}

export function colorUrgency(u: string): string {
  return u === 'critical' ? pc.red(pc.bold(u)) : u === 'high' ? pc.red(u) : u === 'low' ? pc.dim(u) : u;
}

export const when = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

const compact = (v: unknown) => (v && typeof v === 'object' && Object.keys(v).length ? JSON.stringify(v) : '');

export function requestDetails(r: ApprovalRequest): string {
  const policy = r.policyDecision;
  return fields([
    ['id', r.id],
    ['action', pc.bold(r.action)],
    ['status', colorStatus(r.status)],
    ['urgency', colorUrgency(r.urgency)],
    ['params', compact(r.params)],
    ['context', compact(r.context)],
    ['policy', policy ? `${policy.decision}${policy.policyName ? ` (${policy.policyName})` : ''}${policy.reason ? ` — ${policy.reason}` : ''}` : ''],
    ['created', when(r.createdAt)],
    ['expires', when(r.expiresAt)],
    ['decided', r.decidedAt ? `${when(r.decidedAt)} by ${r.decidedBy ?? '?'}${r.decidedByLabel ? ` (${r.decidedByLabel})` : ''}` : ''],
    ['reason', r.decisionReason],
  ]);
}

export const requestColumns: Column<ApprovalRequest>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'ACTION', value: (r) => r.action },
  { header: 'STATUS', value: (r) => colorStatus(r.status) },
  { header: 'URGENCY', value: (r) => colorUrgency(r.urgency) },
  { header: 'CREATED', value: (r) => when(r.createdAt) },
  { header: 'DECIDED BY', value: (r) => r.decidedBy ?? '' },
];

function eventColor(type: string): (s: string) => string {
  if (/approved$/.test(type)) return pc.green;
  if (/denied$/.test(type)) return pc.red;
  if (/(expired|cancelled|revoked|deleted)$/.test(type)) return pc.gray;
  if (/created$/.test(type)) return pc.cyan;
  if (type.startsWith('request.')) return pc.yellow;
  return pc.magenta;
}

/** One event, one line: time, position, type, subject, and who did it through which channel. */
export function eventLine(e: LiveEvent): string {
  const data = e.data ?? {};
  const meta = e.metadata ?? {};
  const subject = typeof data.id === 'string' ? data.id : e.streamId.replace(/^[a-z]+-/, '');
  const detail = [data.action, data.name, data.decision, data.reason].filter((v) => typeof v === 'string' && v).join(' · ');
  const time = e.recordedAt.slice(11, 23);
  const who = meta.actor ? `${meta.actor.type ?? ''}:${meta.actor.name ?? ''}` : '';
  return [
    pc.dim(time),
    pc.dim(pad(`#${e.position}`, 7)),
    eventColor(e.eventType)(pad(e.eventType, 26)),
    subject,
    detail,
    who ? pc.dim(`by ${who}${meta.channel ? ` via ${meta.channel}` : ''}`) : '',
  ].filter(Boolean).join('  ');
}
