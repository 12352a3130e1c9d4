// Exponential backoff with jitter, shared by the RPC retry policy and the recorder.
// Jitter keeps many controllers that lost the same database from reconnecting in lockstep.

export interface BackoffOptions {
  /** Delay before the first retry, in ms (the delay doubles per attempt). */
  baseMs: number;
  /** Upper bound of one delay, in ms. */
  maxMs: number;
}

/**
 * The delay before retry number `attempt` (0 for the first retry): "equal jitter", i.e. a random
 * value in [d/2, d] where d = min(maxMs, baseMs * 2^attempt). Never below 1 ms: a retry always
 * waits for a later turn of the event loop, after the socket of a failed connection has closed
 * (postgres.js hangs a query written between a socket's 'error' and its 'close').
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.max(1, ceiling / 2 + (random() * ceiling) / 2);
}

/** Waits ms. The timer keeps the process alive: a call being retried has not finished yet. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
