/**
 * A small in-process circuit breaker for one SMTP transport. A transport that
 * keeps failing temporarily (N failures in a row within a window) is paused for
 * a cooldown, so sends go straight to the next transport instead of waiting on
 * a server that is down or throttling us. After the cooldown one send probes it
 * (half-open); its outcome closes or reopens the breaker.
 *
 * Per worker process, on purpose: a shared breaker would need shared state, and
 * each worker finds out quickly enough on its own.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerSettings {
  failures: number;
  windowMs: number;
  cooldownMs: number;
}

export class CircuitBreaker {
  private failureTimes: number[] = [];
  private openedAt: number | null = null;
  private probing = false;

  constructor(
    private readonly settings: BreakerSettings,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): BreakerState {
    if (this.openedAt === null) return 'closed';
    return this.now() - this.openedAt >= this.settings.cooldownMs ? 'half-open' : 'open';
  }

  /** Whether a send may use the transport now. In half-open state only one probe at a time is let through. */
  allowRequest(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  /** The server answered (accepted or refused for good): the transport works. */
  recordSuccess(): void {
    this.failureTimes = [];
    this.openedAt = null;
    this.probing = false;
  }

  recordTemporaryFailure(): void {
    const now = this.now();
    if (this.probing || this.openedAt !== null) {
      // The probe failed: another full cooldown.
      this.probing = false;
      this.openedAt = now;
      return;
    }
    this.failureTimes = [...this.failureTimes.filter((t) => now - t < this.settings.windowMs), now];
    if (this.failureTimes.length >= this.settings.failures) {
      this.openedAt = now;
      this.failureTimes = [];
    }
  }
}
