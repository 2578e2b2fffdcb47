import { AppError } from '../errors.ts';

/** A key that turns into a prototype when a consumer merges the object (as fastify's own parser refuses). */
const isPoisonKey = (key: string, value: unknown) =>
  key === '__proto__' || (key === 'constructor' && typeof value === 'object' && value !== null && 'prototype' in value);

function refusePoison(this: unknown, key: string, value: unknown) {
  if (isPoisonKey(key, value)) throw new AppError('INVALID_JSON', `The body contains a forbidden "${key}" key`, [{ field: key, message: 'is forbidden' }]);
  // PostgreSQL text and jsonb cannot hold NUL; refuse it here rather than fail on insert.
  if (typeof value === 'string' && value.includes('\u0000')) {
    throw new AppError('VALIDATION_ERROR', 'Strings may not contain the NUL character (\\u0000)', [{ field: key || 'body', message: 'contains \\u0000' }]);
  }
  return value;
}

/** Deeper than any real payload; keeps hashing, policy matching and jsonb within bounds. */
export const MAX_JSON_DEPTH = 64;

function depthExceeds(root: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * Parses a JSON body. Stored params and context reach policies, webhook receivers and
 * clients that may merge them into their own objects, so prototype keys are refused.
 * The reviver only runs when such a key may be present (also as a \u escape).
 */
export function parseJsonBody(text: string): unknown {
  let parsed: unknown;
  try {
    parsed = /__proto__|constructor|\\u/.test(text) ? JSON.parse(text, refusePoison) : JSON.parse(text);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('INVALID_JSON', `The body is not valid JSON: ${(err as Error).message}`);
  }
  if (depthExceeds(parsed, MAX_JSON_DEPTH)) {
    throw new AppError('VALIDATION_ERROR', `The body nests deeper than ${MAX_JSON_DEPTH} levels`, [{ field: 'body', message: `nests deeper than ${MAX_JSON_DEPTH} levels` }]);
  }
  return parsed;
}
