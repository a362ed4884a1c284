import type net from "node:net";

/** The parts of a `net.Socket` that reading from the kernel goes through (Node internals). */
interface ReadingInternals {
  _handle?: { reading: boolean; readStop(): number } | null;
  _read(size: number): void;
}

/**
 * Stops `socket` reading from the kernel for good, before its handle is sent to a worker: what the
 * client sends from now on stays in the kernel for the worker to read.
 *
 * Stopping the handle is not enough on its own. Node keeps the sender's copy of a sent handle open,
 * and reading into a no-op, until the worker acknowledges it (up to seconds when the primary is
 * busy); and a socket that just delivered data re-arms its handle one tick later (the stream's
 * read-ahead, `maybeReadMore`, calls `_read()`, which starts the handle again). Bytes the primary
 * reads in that window are lost: a WebSocket client's first frame, sent as soon as the worker
 * answered its upgrade, never reaches the worker (measured: 3 of about 2,800 WebSocket-only
 * connects stuck without an answer, 4 workers beside a CPU burner). So the stream's `_read` becomes a no-op:
 * nothing in this process can start the handle again.
 */
export function stopReading(socket: net.Socket): void {
  const internals = socket as unknown as ReadingInternals;
  internals._read = () => undefined;
  const handle = internals._handle;
  if (!handle) return;
  handle.reading = false;
  handle.readStop();
}
