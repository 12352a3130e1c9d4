// Every RPC the SDK sends goes through here: the closed check, the metrics (one observation and
// one round trip per attempt) and, for calls that are safe to repeat, the retry policy.
import { performance } from 'node:perf_hooks';
import { AldDbError, closedError, isTransient } from './errors.ts';
import type { Metrics } from './metrics.ts';
import { backoffDelay, sleep, type BackoffOptions } from './retry.ts';
import type { RpcArgs, RpcName, Transport } from './transport/types.ts';

export interface RetryPolicy extends BackoffOptions {
  /** Attempts in all, first one included (default 3). */
  attempts: number;
}

export interface RpcClientOptions {
  timeoutMs: number;
  retry: RetryPolicy;
}

export class RpcClient {
  private closed = false;

  constructor(readonly transport: Transport, private readonly metrics: Metrics, readonly options: RpcClientOptions) {}

  get isClosed(): boolean {
    return this.closed;
  }

  markClosed(): void {
    this.closed = true;
  }

  /** One attempt: one round trip. */
  async once<T>(rpc: RpcName, args: RpcArgs): Promise<T> {
    if (this.closed) throw closedError(rpc);
    const started = performance.now();
    try {
      const result = await this.transport.call<T>(rpc, args, { timeoutMs: this.options.timeoutMs });
      this.metrics.attempt(rpc, (performance.now() - started) / 1000);
      return result;
    } catch (error) {
      const e = error instanceof AldDbError ? error : new AldDbError({ code: 'ALD_UNEXPECTED', message: String(error), operation: rpc, cause: error });
      this.metrics.attempt(rpc, (performance.now() - started) / 1000, String(e.code));
      throw e;
    }
  }

  /**
   * Retries transient failures (connection lost, timeout, server busy). Only for calls whose repeat
   * cannot act twice: reads, and writes keyed by an idempotency key (request_id, step_index, status).
   * The same `args` object, request_id included, is sent on every attempt.
   */
  async idempotent<T>(rpc: RpcName, args: RpcArgs): Promise<T> {
    const { attempts } = this.options.retry;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(rpc, args);
      } catch (error) {
        const e = error as AldDbError;
        if (!isTransient(e) || attempt + 1 >= attempts || this.closed) throw e;
        await sleep(backoffDelay(attempt, this.options.retry));
        if (this.closed) throw closedError(rpc);
        this.metrics.retry(rpc);
      }
    }
  }
}
