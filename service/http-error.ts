/** A request the caller must fix; the service's error handler turns it into `{ error, problems? }` with its status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error: string; problems?: string[] },
    readonly headers: Record<string, string> = {},
  ) {
    super(body.error);
  }
}
