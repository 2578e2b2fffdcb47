/** Server validation details (`[{ field, message }]`) grouped by the form field they belong to. */
import { AgentGateError } from '@agentgate/sdk';

export type FieldErrors = Record<string, string[]>;

/** `body.policy.rules[0].match` → `rules`, `body.name` → `name`; unknown shapes go under `_`. */
export function fieldErrors(err: unknown, prefix = 'body.'): FieldErrors {
  const out: FieldErrors = {};
  if (!(err instanceof AgentGateError) || !Array.isArray(err.details)) return out;
  for (const d of err.details as { field?: string; message?: string }[]) {
    const path = String(d.field ?? '').replace(/^\//, '').replace(/\//g, '.');
    const rest = path.startsWith(prefix) ? path.slice(prefix.length) : path;
    const key = /^[A-Za-z]+/.exec(rest)?.[0] ?? '_';
    (out[key] ??= []).push(rest === key ? String(d.message) : `${rest}: ${d.message}`);
  }
  return out;
}
