/** What went wrong with a style model file; lets callers react without parsing messages. */
export type NstModelErrorCode =
  | 'fetch-failed'
  | 'unreadable-json'
  | 'not-an-nst-model'
  | 'unsupported-format-version'
  | 'bad-architecture'
  | 'bad-manifest'
  | 'missing-weight'
  | 'unexpected-weight'
  | 'wrong-shape'
  | 'missing-shard'
  | 'truncated-shard'
  | 'oversized-shard'
  | 'checksum-mismatch'
  | 'non-finite-weight';

/**
 * Raised when a style model cannot be read. The message names the file and the problem and says
 * what to do; `code` classifies it; `cause` carries the underlying error where there is one.
 */
export class NstModelError extends Error {
  override readonly name = 'NstModelError';
  constructor(
    readonly code: NstModelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
