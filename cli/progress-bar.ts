import cliProgress from 'cli-progress';

/** Where a progress bar goes: stderr unless a test supplies its own. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface ProgressBar {
  update(done: number, total: number): void;
  /** Draws the last state and ends the line; safe to call twice. */
  stop(): void;
}

/**
 * A one-line bar rewritten in place (cli-progress), on a terminal only: a log
 * file, a pipe, CI or a test's captured stderr gets nothing from it.
 * `render` gives the whole line for a state, so each command keeps its own wording.
 */
export function terminalProgressBar(render: (done: number, total: number) => string, stream: ProgressStream = process.stderr): ProgressBar {
  if (!stream.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar({
    // cli-progress writes through the stream's write (and readline's cursor moves, which write too).
    stream: stream as NodeJS.WritableStream,
    format: (_options, params) => render(params.value, params.total),
    fps: 10,
    hideCursor: false,
    clearOnComplete: false,
  });
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, done);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done);
      }
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
