import http from "node:http";
import path from "node:path";

/**
 * The private channel between workers: each worker also listens on a Unix socket in the
 * runtime folder the primary created, named after its worker id. Forwarded polling
 * requests and takeover requests travel over it as plain HTTP.
 */
export function privateSocketPath(runtimeDir: string, workerId: number): string {
  return path.join(runtimeDir, `w${workerId}.sock`);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });

export interface PrivateResponse {
  status: number;
  statusMessage: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Error raised when the target worker does not exist (any more). */
export class WorkerUnreachableError extends Error {}

/**
 * Sends one HTTP request to a worker's private listener and collects the answer.
 * `signal` cancels it (the client went away). Rejects with {@link WorkerUnreachableError}
 * when nobody listens at that worker's socket.
 */
export function privateRequest(
  socketPath: string,
  options: { method: string; path: string; headers: http.OutgoingHttpHeaders; body?: Buffer; timeoutMs: number },
  signal?: AbortSignal,
): Promise<PrivateResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath, agent, method: options.method, path: options.path, headers: options.headers, signal },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 502,
            statusMessage: res.statusMessage ?? "",
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on("error", reject);
      },
    );
    req.setTimeout(options.timeoutMs, () => req.destroy(new Error("private request timed out")));
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT" || err.code === "ECONNREFUSED") reject(new WorkerUnreachableError(err.message));
      else reject(err);
    });
    req.end(options.body);
  });
}
