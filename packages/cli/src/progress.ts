import ora, { type Ora } from 'ora';

/**
 * Progress of multi-step or waiting work. On a terminal a spinner runs on stderr and each finished
 * step stays as a `✓` line; otherwise (CI, pipes) only the finished-step lines are written, plainly,
 * so logs stay readable. Finished steps go to stdout: they are the command's result.
 */
export interface Progress {
  /** Shows what is being done now. */
  start(text: string): void;
  /** Updates the running step's text (e.g. a status change while waiting). */
  update(text: string): void;
  /** Ends the running step as done and prints `✓ text`. */
  succeed(text: string): void;
  /** Ends the running step as failed and prints `✗ text` on stderr. */
  fail(text: string): void;
  /** A line that is not a step (e.g. a detail under the last step). */
  info(text: string): void;
  stop(): void;
}

export function createProgress(opts: { quiet?: boolean } = {}): Progress {
  if (opts.quiet) {
    const noop = () => {};
    return { start: noop, update: noop, succeed: noop, fail: noop, info: noop, stop: noop };
  }
  // A terminal that reports no width (some pseudo-terminals) would make the spinner redraw forever.
  const interactive = Boolean(process.stderr.isTTY) && !process.env.CI && (process.stderr.columns ?? 0) > 0;
  let spinner: Ora | null = null;
  const stopSpinner = () => {
    spinner?.stop();
    spinner = null;
  };
  return {
    start(text) {
      if (!interactive) return;
      stopSpinner();
      spinner = ora({ text, stream: process.stderr }).start();
    },
    update(text) {
      if (spinner) spinner.text = text;
    },
    succeed(text) {
      stopSpinner();
      process.stdout.write(`✓ ${text}\n`);
    },
    fail(text) {
      stopSpinner();
      process.stderr.write(`✗ ${text}\n`);
    },
    info(text) {
      stopSpinner();
      process.stdout.write(`  ${text}\n`);
    },
    stop: stopSpinner,
  };
}
