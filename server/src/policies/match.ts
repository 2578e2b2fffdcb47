/**
 * Matcher compilation for the policy engine.
 *
 * Everything here is pure: no I/O, no clocks, no randomness. The only state is
 * a bounded memo of compiled regular expressions, which never changes the
 * observable result of a match.
 *
 * Validation and compilation share one code path (`compileMatch`): a matcher
 * that validates is exactly a matcher that compiles, so evaluation can never
 * meet a pattern it cannot run.
 */
import { RE2JS } from 're2js';

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/** A scalar compared by equality. */
export type Literal = string | number | boolean | null;

/** Any value that can appear in a JSON document. */
export type JsonValue = Literal | JsonValue[] | { [key: string]: JsonValue };

/** An object of operators; every operator present must hold (AND). */
export interface OperatorMatcher {
  $eq?: JsonValue;
  $ne?: JsonValue;
  $in?: JsonValue[];
  $nin?: JsonValue[];
  $lt?: number;
  $lte?: number;
  $gt?: number;
  $gte?: number;
  /** RE2 syntax, searched anywhere in the value (anchor with ^ and $ if needed). */
  $regex?: string;
  /** Only `i` (case-insensitive) is supported; requires `$regex`. */
  $flags?: '' | 'i';
  $exists?: boolean;
  $startsWith?: string;
  $endsWith?: string;
  /** Substring test on strings; deep-equality membership on arrays. */
  $contains?: JsonValue;
}

export type Matcher = Literal | OperatorMatcher;

export interface ValidationIssue {
  path: string;
  message: string;
}

/** The object match paths are resolved against. */
export interface MatchRoot {
  action: string;
  urgency: string;
  params: object;
  context: object;
  requester: { keyId: string; keyName: string };
}

/** A compiled `match` object: true when every key's matcher holds. */
export type CompiledMatch = (root: MatchRoot) => boolean;

// ---------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------

export const MAX_PATTERN_LENGTH = 1000;
const MAX_OPERAND_DEPTH = 32;
const REGEX_CACHE_LIMIT = 1024;

export const TOP_LEVEL_KEYS: ReadonlySet<string> = new Set([
  'action',
  'urgency',
  'params',
  'context',
  'requester',
]);

const KNOWN_OPERATORS: ReadonlySet<string> = new Set([
  '$eq',
  '$ne',
  '$in',
  '$nin',
  '$lt',
  '$lte',
  '$gt',
  '$gte',
  '$regex',
  '$flags',
  '$exists',
  '$startsWith',
  '$endsWith',
  '$contains',
]);

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Returns a reason string when `value` is not a JSON value, otherwise null. */
function jsonProblem(value: unknown, depth = 0): string | null {
  if (depth > MAX_OPERAND_DEPTH) return `is nested more than ${MAX_OPERAND_DEPTH} levels deep`;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? null : 'must be a finite number';
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = jsonProblem(item, depth + 1);
      if (problem !== null) return problem;
    }
    return null;
  }
  if (isPlainObject(value)) {
    for (const key of Object.keys(value)) {
      const problem = jsonProblem(value[key], depth + 1);
      if (problem !== null) return problem;
    }
    return null;
  }
  return 'must be a JSON value (string, number, boolean, null, array or object)';
}

/**
 * Structural equality over JSON-like values. Recursion is bounded by the
 * depth of the (validated) operand, since both sides descend together.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      if (!deepEqual(a[i], b[i])) return false;
    }
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const aKeys = Object.keys(ao);
  if (aKeys.length !== Object.keys(bo).length) return false;
  for (const key of aKeys) {
    if (!Object.hasOwn(bo, key) || !deepEqual(ao[key], bo[key])) return false;
  }
  return true;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

// ---------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------

/**
 * Splits a match key into path segments. A first segment that is not one of
 * the top-level names is looked up under `params` (`amount` → `params.amount`).
 * Returns null when the key is empty or has an empty segment.
 */
export function parseMatchKey(key: string): string[] | null {
  if (key.length === 0) return null;
  const segments = key.split('.');
  if (segments.some((s) => s.length === 0)) return null;
  const first = segments[0];
  if (first === undefined || !TOP_LEVEL_KEYS.has(first)) segments.unshift('params');
  return segments;
}

/**
 * Walks own properties only (never the prototype chain), so keys like
 * `constructor` or `__proto__` resolve to undefined unless actually present.
 */
export function resolvePath(root: MatchRoot, segments: readonly string[]): unknown {
  let current: unknown = root;
  for (const segment of segments) {
    if (typeof current !== 'object' || current === null) return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

// ---------------------------------------------------------------------------
// Regular expressions (RE2: linear time, no backreferences or lookarounds)
// ---------------------------------------------------------------------------

const regexCache = new Map<string, RE2JS>();

type RegexResult = { ok: true; re: RE2JS } | { ok: false; message: string };

function compileRegex(pattern: string, flags: number): RegexResult {
  const cacheKey = `${flags}/${pattern}`;
  const cached = regexCache.get(cacheKey);
  if (cached !== undefined) return { ok: true, re: cached };
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern, flags);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return {
      ok: false,
      message:
        `unsupported or unsafe pattern (RE2 syntax required; backreferences and lookarounds are not allowed): ${detail}`,
    };
  }
  if (regexCache.size >= REGEX_CACHE_LIMIT) {
    const oldest = regexCache.keys().next();
    if (oldest.done !== true) regexCache.delete(oldest.value);
  }
  regexCache.set(cacheKey, re);
  return { ok: true, re };
}

/** Number of cached compiled patterns (exposed for tests and metrics). */
export function regexCacheSize(): number {
  return regexCache.size;
}

/**
 * Translates an action glob into an anchored RE2 pattern: `*` is any run of
 * characters (dots included), `?` is exactly one character, everything else
 * is literal.
 */
export function globToRegexSource(glob: string): string {
  let out = '';
  let literal = '';
  const flush = (): void => {
    if (literal.length > 0) {
      out += RE2JS.quote(literal);
      literal = '';
    }
  };
  for (const ch of glob) {
    if (ch === '*') {
      flush();
      if (!out.endsWith('.*')) out += '.*';
    } else if (ch === '?') {
      flush();
      out += '.';
    } else {
      literal += ch;
    }
  }
  flush();
  return `(?s:${out})`;
}

// ---------------------------------------------------------------------------
// Matcher compilation
// ---------------------------------------------------------------------------

type ValueTest = (actual: unknown) => boolean;

function compileLiteral(
  key: string,
  literal: Literal,
  path: string,
  issues: ValidationIssue[],
): ValueTest | null {
  if (typeof literal === 'number' && !Number.isFinite(literal)) {
    issues.push({ path, message: 'literal number must be finite' });
    return null;
  }
  if (key === 'action' && typeof literal === 'string' && literal.includes('*')) {
    if (literal.length > MAX_PATTERN_LENGTH) {
      issues.push({ path, message: `glob is longer than ${MAX_PATTERN_LENGTH} characters` });
      return null;
    }
    const compiled = compileRegex(globToRegexSource(literal), 0);
    if (!compiled.ok) {
      issues.push({ path, message: compiled.message });
      return null;
    }
    const re = compiled.re;
    return (actual) => typeof actual === 'string' && re.testExact(actual);
  }
  return (actual) => actual === literal;
}

function compileOperators(
  ops: Record<string, unknown>,
  path: string,
  issues: ValidationIssue[],
): ValueTest | null {
  const keys = Object.keys(ops);
  if (keys.length === 0) {
    issues.push({ path, message: 'operator object must contain at least one operator' });
    return null;
  }

  const tests: ValueTest[] = [];
  const before = issues.length;
  const fail = (op: string, message: string): void => {
    issues.push({ path: `${path}.${op}`, message });
  };

  // $flags is read together with $regex.
  let regexFlags = 0;
  if (Object.hasOwn(ops, '$flags')) {
    const flags = ops['$flags'];
    if (typeof flags !== 'string') {
      fail('$flags', `must be a string, got ${describe(flags)}`);
    } else if (flags !== '' && flags !== 'i') {
      fail('$flags', `only the "i" flag is supported, got "${flags}"`);
    } else if (!Object.hasOwn(ops, '$regex')) {
      fail('$flags', '$flags requires $regex');
    } else if (flags === 'i') {
      regexFlags = RE2JS.CASE_INSENSITIVE;
    }
  }

  for (const op of keys) {
    const operand = ops[op];
    if (!op.startsWith('$')) {
      fail(op, `unexpected key "${op}" in operator object (operators start with $; use $eq to compare objects)`);
      continue;
    }
    if (!KNOWN_OPERATORS.has(op)) {
      fail(op, `unknown operator ${op}`);
      continue;
    }
    switch (op) {
      case '$eq':
      case '$ne': {
        const problem = jsonProblem(operand);
        if (problem !== null) {
          fail(op, `operand ${problem}`);
          break;
        }
        tests.push(
          op === '$eq'
            ? (actual) => deepEqual(actual, operand)
            : (actual) => !deepEqual(actual, operand),
        );
        break;
      }
      case '$in':
      case '$nin': {
        if (!Array.isArray(operand)) {
          fail(op, `must be an array, got ${describe(operand)}`);
          break;
        }
        const problem = jsonProblem(operand);
        if (problem !== null) {
          fail(op, `operand ${problem}`);
          break;
        }
        const list: readonly unknown[] = operand;
        const contains = (actual: unknown): boolean => list.some((item) => deepEqual(actual, item));
        tests.push(op === '$in' ? contains : (actual) => !contains(actual));
        break;
      }
      case '$lt':
      case '$lte':
      case '$gt':
      case '$gte': {
        if (typeof operand !== 'number' || !Number.isFinite(operand)) {
          fail(op, `must be a finite number, got ${describe(operand)}`);
          break;
        }
        const bound = operand;
        const cmp: Record<string, (a: number) => boolean> = {
          $lt: (a) => a < bound,
          $lte: (a) => a <= bound,
          $gt: (a) => a > bound,
          $gte: (a) => a >= bound,
        };
        const compare = cmp[op];
        if (compare === undefined) break;
        tests.push((actual) => typeof actual === 'number' && compare(actual));
        break;
      }
      case '$regex': {
        if (typeof operand !== 'string') {
          fail(op, `must be a string, got ${describe(operand)}`);
          break;
        }
        if (operand.length > MAX_PATTERN_LENGTH) {
          fail(op, `pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
          break;
        }
        const compiled = compileRegex(operand, regexFlags);
        if (!compiled.ok) {
          fail(op, compiled.message);
          break;
        }
        const re = compiled.re;
        tests.push((actual) => typeof actual === 'string' && re.test(actual));
        break;
      }
      case '$flags':
        // Validated above, applied by $regex.
        break;
      case '$exists': {
        if (typeof operand !== 'boolean') {
          fail(op, `must be a boolean, got ${describe(operand)}`);
          break;
        }
        const want = operand;
        tests.push((actual) => (actual !== undefined) === want);
        break;
      }
      case '$startsWith':
      case '$endsWith': {
        if (typeof operand !== 'string') {
          fail(op, `must be a string, got ${describe(operand)}`);
          break;
        }
        const text = operand;
        tests.push(
          op === '$startsWith'
            ? (actual) => typeof actual === 'string' && actual.startsWith(text)
            : (actual) => typeof actual === 'string' && actual.endsWith(text),
        );
        break;
      }
      case '$contains': {
        const problem = jsonProblem(operand);
        if (problem !== null) {
          fail(op, `operand ${problem}`);
          break;
        }
        tests.push((actual) => {
          if (typeof actual === 'string') return typeof operand === 'string' && actual.includes(operand);
          if (Array.isArray(actual)) return actual.some((item) => deepEqual(item, operand));
          return false;
        });
        break;
      }
    }
  }

  if (issues.length !== before) return null;
  return (actual) => {
    for (const test of tests) {
      if (!test(actual)) return false;
    }
    return true;
  };
}

function compileMatcher(
  key: string,
  matcher: unknown,
  path: string,
  issues: ValidationIssue[],
): ValueTest | null {
  if (
    matcher === null ||
    typeof matcher === 'string' ||
    typeof matcher === 'number' ||
    typeof matcher === 'boolean'
  ) {
    return compileLiteral(key, matcher, path, issues);
  }
  if (isPlainObject(matcher)) return compileOperators(matcher, path, issues);
  issues.push({
    path,
    message: `matcher must be a string, number, boolean, null or an object of operators, got ${describe(matcher)}`,
  });
  return null;
}

/**
 * Validates and compiles a rule's `match` object. `path` is the error prefix
 * (e.g. `rules[0].match`). Returns null when any issue was recorded.
 */
export function compileMatch(
  match: unknown,
  path: string,
  issues: ValidationIssue[],
): CompiledMatch | null {
  if (!isPlainObject(match)) {
    issues.push({ path, message: `must be an object, got ${describe(match)}` });
    return null;
  }
  const before = issues.length;
  const clauses: { segments: string[]; test: ValueTest }[] = [];
  for (const key of Object.keys(match)) {
    const keyPath = `${path}.${key}`;
    const segments = parseMatchKey(key);
    if (segments === null) {
      issues.push({ path: keyPath, message: 'match path must be non-empty and have no empty segments' });
      continue;
    }
    if (segments[0] === 'requester' && (segments.length !== 2 || segments[1] !== 'keyId')) {
      issues.push({
        path: keyPath,
        message: 'only requester.keyId can be matched: key names are not unique, and anyone who may create keys can name one after another',
      });
      continue;
    }
    if (key.startsWith('$')) {
      issues.push({
        path: keyPath,
        message: `match keys are paths; top-level operators such as ${key} are not supported (use separate rules for OR)`,
      });
      continue;
    }
    const test = compileMatcher(key, match[key], keyPath, issues);
    if (test !== null) clauses.push({ segments, test });
  }
  if (issues.length !== before) return null;
  return (root) => {
    for (const clause of clauses) {
      if (!clause.test(resolvePath(root, clause.segments))) return false;
    }
    return true;
  };
}
