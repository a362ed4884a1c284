import { writeSync } from "node:fs";

/** Longest a log line waits for a full pipe to take it (ms); then it is dropped. */
const FULL_PIPE_WAIT_MS = 2000;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * A synchronous destination for log lines on file descriptor `fd` that never blocks a process
 * for good: a full pipe (EAGAIN) is waited for, up to {@link FULL_PIPE_WAIT_MS}; a reader that is
 * gone (EPIPE: a worker that outlives the primary whose stdout pm2 read) drops the line. pino's
 * own destination retries such a write forever when the process exits.
 */
export function lineWriter(fd: number): { write(line: string): void } {
  return {
    write(line: string) {
      let rest: Buffer;
      try {
        // the usual case: the whole line at once
        const written = writeSync(fd, line);
        const length = Buffer.byteLength(line);
        if (written === length) return;
        rest = Buffer.from(line).subarray(written);
      } catch (err) {
        if (!isFull(err)) return;
        rest = Buffer.from(line);
      }
      const deadline = Date.now() + FULL_PIPE_WAIT_MS;
      while (rest.length > 0 && Date.now() <= deadline) {
        try {
          rest = rest.subarray(writeSync(fd, rest));
        } catch (err) {
          if (!isFull(err)) return;
          Atomics.wait(pause, 0, 0, 5);
        }
      }
    },
  };
}

function isFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "EAGAIN" || code === "EBUSY";
}
