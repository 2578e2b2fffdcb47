/**
 * Given/when/then for pure deciders: given past events, when a command is decided,
 * then exactly these events come out, or an AppError with this code is thrown.
 *
 *   const request = scenario({ initialState: initialRequestState, decide, evolve });
 *   request.given(created, routed).when(approve).then(t, [approved]);
 *   request.given(created, routed, approved).when(approve).thenError(t, 'ALREADY_DECIDED');
 */
import type { Test } from 'tap';
import { AppError, type ErrorCode } from '../../server/src/errors.ts';

export interface Decider<C, S, E> {
  initialState(): S;
  decide(command: C, state: S): E[];
  evolve(state: S, event: E): S;
}

export interface When<S, E> {
  /** Asserts the produced events (deep, exact) and returns the state after them. */
  then(t: Test, expected: E[], message?: string): S;
  /** Asserts that deciding throws an AppError with `code` (and, if given, matching details). */
  thenError(t: Test, code: ErrorCode, details?: unknown): AppError | undefined;
  /** The produced events, for assertions the two above cannot express. */
  events(): E[];
}

export function scenario<C, S, E>(decider: Decider<C, S, E>) {
  const fold = (events: E[]) => events.reduce((s, e) => decider.evolve(s, e), decider.initialState());
  return {
    fold,
    given: (...history: E[]) => ({
      when: (command: C): When<S, E> => {
        const state = fold(history);
        return {
          events: () => decider.decide(command, state),
          then(t, expected, message = 'produces exactly these events') {
            let produced: E[];
            try {
              produced = decider.decide(command, state);
            } catch (err) {
              t.fail(`expected events, got ${err instanceof AppError ? err.code : 'an error'}: ${(err as Error).message}`);
              return state;
            }
            t.strictSame(produced, expected, message);
            return produced.reduce((s, e) => decider.evolve(s, e), state);
          },
          thenError(t, code, details) {
            try {
              const produced = decider.decide(command, state);
              t.fail(`expected ${code}, got events: ${JSON.stringify(produced)}`);
              return undefined;
            } catch (err) {
              if (!(err instanceof AppError)) {
                t.fail(`expected AppError ${code}, got ${String(err)}`);
                return undefined;
              }
              t.equal(err.code, code, `fails with ${code}`);
              if (details !== undefined) t.match(err.details, details, 'error details');
              return err;
            }
          },
        };
      },
    }),
  };
}
