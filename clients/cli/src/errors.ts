/** Exit codes: scripts branch on them. */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  /** `request` ended denied, expired or cancelled: the action must not go ahead. */
  refused: 3,
  interrupted: 130,
} as const;

/** Bad command-line input (exit 2), as opposed to a failure while doing the work (exit 1). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
