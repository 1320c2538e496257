/** Where commands write, so they can be tested without a child process if need be. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export const processOutput: Output = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

/**
 * `echonet inspect | head -1`: once the reader has gone the rest of the output is not wanted, so
 * the command ends as if it had finished (exit 0, nothing on stderr), not with an EPIPE trace.
 * Anything else going wrong with stdout is still an error.
 */
export function exitQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}
