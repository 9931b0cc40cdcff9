/**
 * At most `size` sends at a time on one SMTP transport, the size of its connection pool. The others wait
 * here instead of in nodemailer's queue, so that a send marks its ledger row as handed over (at most once,
 * activities/deliver-notice.ts) only when a connection is free to carry it: a worker that dies leaves
 * unconfirmed only the sends that were on the wire, not every send queued behind them.
 */
export class SendSlots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = Math.max(1, size);
  }

  /** Runs `task` in a slot; null, without running it, when `signal` aborts while it waits for one. */
  async run<T>(signal: AbortSignal | undefined, task: () => Promise<T>): Promise<T | null> {
    if (!(await this.acquire(signal))) return null;
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private acquire(signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.free > 0) {
      this.free -= 1;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const abort = () => {
        const at = this.waiting.indexOf(grant);
        if (at >= 0) this.waiting.splice(at, 1);
        resolve(false);
      };
      const grant = () => {
        signal?.removeEventListener('abort', abort);
        resolve(true);
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', abort, { once: true });
    });
  }

  /** A finished send hands its slot straight to the longest waiting one. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}
