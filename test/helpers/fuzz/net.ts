import net from "node:net";

/** What came back on a raw TCP connection. */
export interface RawAnswer {
  /** HTTP status of the first response, 0 when none was read. */
  status: number;
  /** Body of the first response (as far as it was read). */
  body: string;
  /** The server closed (or reset) the connection before `waitMs`. */
  closedByServer: boolean;
  /** No complete answer and no close within `waitMs`: the client hung up itself. */
  timedOut: boolean;
}

export interface RawOptions {
  /** Longest to wait for an answer or a close (ms). Default 3000. */
  waitMs?: number;
  /** Writes the bytes in pieces of this size, `pauseMs` apart (default: at once). */
  pieceSize?: number;
  pauseMs?: number;
  /** Half-closes the connection after the last byte (default false). */
  endAfterWrite?: boolean;
}

const HEAD_END = "\r\n\r\n";

/** Whether `text` holds one complete HTTP response (by Content-Length or chunked end). */
function complete(text: string): { status: number; body: string } | undefined {
  const headEnd = text.indexOf(HEAD_END);
  if (headEnd === -1) return undefined;
  const head = text.slice(0, headEnd);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  const body = text.slice(headEnd + 4);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length) return body.length >= Number(length[1]) ? { status, body: body.slice(0, Number(length[1])) } : undefined;
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) return body.includes("0\r\n\r\n") ? { status, body } : undefined;
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) return { status, body: "" };
  return undefined; // read until close
}

/**
 * Opens a TCP connection to `port`, writes `bytes`, and resolves with the first HTTP answer, or
 * when the server closes, or after `waitMs` (then the client closes). Never rejects.
 */
export function sendRaw(port: number, bytes: Buffer | string, options: RawOptions = {}): Promise<RawAnswer> {
  const waitMs = options.waitMs ?? 3000;
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1", noDelay: true });
    let received = "";
    let settled = false;
    let pieceTimer: NodeJS.Timeout | undefined;
    const finish = (answer: RawAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(pieceTimer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => {
      const parsed = complete(received);
      finish({ status: parsed?.status ?? statusOf(received), body: parsed?.body ?? "", closedByServer: false, timedOut: true });
    }, waitMs);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      received += chunk;
      const parsed = complete(received);
      if (parsed) finish({ ...parsed, closedByServer: false, timedOut: false });
    });
    const onClose = () => {
      const parsed = complete(received);
      const headEnd = received.indexOf(HEAD_END);
      finish({
        status: parsed?.status ?? statusOf(received),
        body: parsed?.body ?? (headEnd === -1 ? "" : received.slice(headEnd + 4)),
        closedByServer: true,
        timedOut: false,
      });
    };
    socket.on("end", onClose);
    socket.on("close", onClose);
    socket.on("error", onClose);
    const data = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
    socket.once("connect", () => {
      if (!options.pieceSize) {
        socket.write(data);
        if (options.endAfterWrite) socket.end();
        return;
      }
      const size = options.pieceSize;
      let offset = 0;
      const writeNext = () => {
        if (settled || socket.destroyed) return;
        socket.write(data.subarray(offset, offset + size));
        offset += size;
        if (offset < data.length) pieceTimer = setTimeout(writeNext, options.pauseMs ?? 0);
        else if (options.endAfterWrite) socket.end();
      };
      writeNext();
    });
  });
}

function statusOf(text: string): number {
  return Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
}

export interface HttpRequestSpec {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Adds `Content-Length` for the body (default true). */
  contentLength?: boolean;
}

/** The bytes of an HTTP/1.1 request (`Connection: close`, so that one connection carries one input). */
export function httpBytes(spec: HttpRequestSpec): Buffer {
  const body = spec.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(spec.body) ? spec.body : Buffer.from(spec.body, "utf8");
  const headers: Record<string, string> = { host: "127.0.0.1", connection: "close", ...spec.headers };
  if (spec.contentLength !== false && (body.length > 0 || spec.method === "POST")) headers["content-length"] = String(body.length);
  let head = `${spec.method} ${spec.path} HTTP/1.1\r\n`;
  for (const [key, value] of Object.entries(headers)) head += `${key}: ${value}\r\n`;
  return Buffer.concat([Buffer.from(head + "\r\n", "latin1"), body]);
}

/** Sends one HTTP request on its own connection. */
export function httpRequest(port: number, spec: HttpRequestSpec, waitMs = 5000): Promise<RawAnswer> {
  return sendRaw(port, httpBytes(spec), { waitMs });
}
