import { Type, type SchemaOptions, type Static, type TSchema } from '@sinclair/typebox';

/** Shapes shared by several rooms; each room keeps its own in its schemas.ts. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable machine-readable code, e.g. ALREADY_DECIDED' }),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'Error', description: 'Every 4xx/5xx answer has this shape' },
);

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const Timestamp = Type.String({ format: 'date-time', description: 'ISO-8601, UTC, milliseconds' });

export const Nullable = <T extends TSchema>(t: T, options?: SchemaOptions) => Type.Union([t, Type.Null()], options);

export const Pagination = Type.Object({
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
  hasMore: Type.Boolean(),
  nextCursor: Nullable(Type.String()),
});
export type Pagination = Static<typeof Pagination>;

/** Standard error responses, spread into a route's `response`. */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, ErrorBody]));

export const JsonObject = Type.Record(Type.String(), Type.Unknown());

/**
 * `limit` of a list: a larger value is clamped to `max` rather than refused (as the original
 * API does), and `pagination.limit` says what was applied. Use with clampLimit().
 */
export const PageLimit = (max: number, defaultLimit: number) =>
  Type.Integer({ minimum: 1, default: defaultLimit, description: `Items per page, ${defaultLimit} by default; above ${max} it is clamped to ${max}` });

export const clampLimit = (limit: number | undefined, max: number, defaultLimit: number): number => Math.min(limit ?? defaultLimit, max);
