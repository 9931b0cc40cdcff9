/**
 * A database that cannot be reached or is shutting down: connection refused or reset, or PostgreSQL's own
 * classes 08 (connection exception) and 57P (operator intervention: admin shutdown, cannot connect now).
 * The service answers such an error with 503 (try again shortly); a send that went out waits for it to pass
 * before recording the send (activities/deliver-notice.ts).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof code === 'string' ? code : '';
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND'].includes(text)) return true;
  if (/^08/.test(text) || /^57P0[1-3]$/.test(text)) return true;
  return typeof message === 'string' && /Connection terminated|terminating connection due to administrator command/.test(message);
}

/**
 * Runs a database step again while the database is unavailable, waiting a little longer each time, up to
 * `withinMs`; any other error, or the database still away after that, is thrown.
 */
export async function whileDatabaseReturns<T>(step: () => Promise<T>, withinMs: number): Promise<T> {
  const until = Date.now() + withinMs;
  for (let wait = 250; ; wait = Math.min(wait * 2, 5_000)) {
    try {
      return await step();
    } catch (error) {
      if (!isDatabaseUnavailable(error) || Date.now() + wait > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
