/**
 * How `nst` ends, for scripts: the exit codes, the two errors that choose a code other than 1, and
 * the text --help shows about them (the README says the same).
 */
import { constants } from 'node:os';

export const EXIT_DONE = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
/** 128 + the signal's number, as shells report a process a signal ended: 130 for Ctrl-C. */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

export const EXIT_CODES_HELP = `
Exit codes:
  ${EXIT_DONE}    done
  ${EXIT_ERROR}    error (a missing or damaged file, an output that exists, a failed run)
  ${EXIT_USAGE}    bad usage: an unknown flag or a bad flag value (nothing was written)
  ${exitCodeForSignal('SIGINT')}  interrupted by Ctrl-C (SIGINT; ${exitCodeForSignal('SIGTERM')} for SIGTERM) after saving what was done`;

/**
 * A flag value that is wrong whatever the files hold, found after commander parsed it (when the
 * check needs the model or the photo, e.g. a --size too large for memory). Exits with EXIT_USAGE.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command stopped on a signal after saving its work; exits with 128 + the signal's number. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}.`);
  }
}
