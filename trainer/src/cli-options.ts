/**
 * The value parsers of `nst`'s flags (and of the repository's scripts that take the same flags):
 * each checks a value as commander parses it, and its complaint becomes commander's "option '--x'
 * argument 'v' is invalid. <why>", a usage error.
 */
import { InvalidArgumentError, Option } from 'commander';
import { availableCores, checkWasmThreads, MAX_WASM_THREADS } from './wasm-threads.js';

/** --threads, for every command that runs the network: wasm's thread count (one process, one pool). */
export function threadsOption(): Option {
  return new Option('--threads <n>', `CPU threads of the wasm backend, 1 to ${MAX_WASM_THREADS}`)
    .argParser(flag((value) => checkWasmThreads(integer(value))))
    .default(availableCores(), `every core: ${availableCores()}`);
}

/** "300s", "5m", "1h" -> seconds; a plain number -> steps. */
export function parseCheckpointEvery(value: string): { steps?: number; seconds?: number } {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(value.trim());
  if (!match || Number(match[1]) <= 0) throw new Error(`--checkpoint-every must be a number of steps (e.g. 200) or a time (e.g. 300s, 5m), got "${value}".`);
  if (!match[2]) {
    if (!Number.isInteger(Number(match[1]))) throw new Error(`--checkpoint-every: steps must be a whole number, got "${value}".`);
    return { steps: Number(match[1]) };
  }
  return { seconds: Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as 's' | 'm' | 'h'] };
}

/**
 * A parser whose complaint becomes commander's "option '--x' argument 'v' is invalid. <why>",
 * a usage error (exit code 2), rather than an error thrown out of the parse (exit code 1).
 */
export function flag<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (error) {
      throw error instanceof InvalidArgumentError ? error : new InvalidArgumentError((error as Error).message);
    }
  };
}

export function number(value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) throw new InvalidArgumentError('Expected a finite number.');
  return parsed;
}

export function positiveNumber(value: string): number {
  const parsed = number(value);
  if (!(parsed > 0)) throw new InvalidArgumentError('Expected a number above 0.');
  return parsed;
}

export function nonNegativeNumber(value: string): number {
  const parsed = number(value);
  if (!(parsed >= 0)) throw new InvalidArgumentError('Expected a number of 0 or more.');
  return parsed;
}

/** A number of at least 1: a factor that only enlarges. */
export function factorOfAtLeastOne(value: string): number {
  const parsed = number(value);
  if (!(parsed >= 1)) throw new InvalidArgumentError('Expected a number of at least 1.');
  return parsed;
}

export function unit(value: string): number {
  const parsed = number(value);
  if (!(parsed >= 0 && parsed <= 1)) throw new InvalidArgumentError('Expected a number from 0 to 1.');
  return parsed;
}

export function integer(value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isInteger(parsed)) throw new InvalidArgumentError('Expected a whole number.');
  return parsed;
}

export function atLeast(min: number): (value: string) => number {
  return wholeNumberIn(min, Infinity);
}

/** A whole number from `min` to `max` (Infinity: no upper bound). */
export function wholeNumberIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = integer(value);
    if (parsed < min || parsed > max) throw new InvalidArgumentError(max === Infinity ? `Expected a whole number of ${min} or more.` : `Expected a whole number from ${min} to ${max}.`);
    return parsed;
  };
}
