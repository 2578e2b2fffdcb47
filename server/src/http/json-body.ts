import { AppError } from '../errors.ts';

/** A key that turns into a prototype when a consumer merges the object (as fastify's own parser refuses). */
const isPoisonKey = (key: string, value: unknown) =>
  key === '__proto__' || (key === 'constructor' && typeof value === 'object' && value !== null && 'prototype' in value);

function refusePoison(this: unknown, key: string, value: unknown) {
  if (isPoisonKey(key, value)) throw new AppError('INVALID_JSON', `The body contains a forbidden "${key}" key`, [{ field: key, message: 'is forbidden' }]);
  return value;
}

/**
 * Parses a JSON body. Stored params and context reach policies, webhook receivers and
 * clients that may merge them into their own objects, so prototype keys are refused.
 * The reviver only runs when such a key may be present (also as a \u escape).
 */
export function parseJsonBody(text: string): unknown {
  try {
    return /__proto__|constructor|\\u/.test(text) ? JSON.parse(text, refusePoison) : JSON.parse(text);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('INVALID_JSON', `The body is not valid JSON: ${(err as Error).message}`);
  }
}
