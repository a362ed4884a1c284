import { httpRequest, type RawAnswer } from "./net";

export const ENGINE_PATH = "/socket.io/";

/**
 * An Engine.IO long-polling session that fuzz bodies are POSTed to. Opened on demand (handshake,
 * then a Socket.IO CONNECT to `/`); replaced after the server refuses a POST (it closes the
 * session on bad input). Its pending polls are never read: the server ends it by heartbeat.
 */
export class PollingTarget {
  private sid: string | undefined;
  /** Sessions opened. */
  opened = 0;

  constructor(private readonly port: number) {}

  /** The current session id, opening a session if needed (`undefined` if the handshake failed). */
  async session(): Promise<string | undefined> {
    if (this.sid) return this.sid;
    const answer = await httpRequest(this.port, { method: "GET", path: `${ENGINE_PATH}?EIO=4&transport=polling` });
    const sid = /"sid":"([^"]+)"/.exec(answer.body)?.[1];
    if (answer.status !== 200 || !sid) return undefined;
    this.opened++;
    const connect = await this.post(sid, "40");
    if (connect.status !== 200) return undefined;
    this.sid = sid;
    return sid;
  }

  /** POSTs `body` to the current session; forgets the session unless the server said ok. */
  async send(body: string | Buffer, headers: Record<string, string> = {}): Promise<RawAnswer | undefined> {
    const sid = await this.session();
    if (!sid) return undefined;
    const answer = await this.post(sid, body, headers);
    if (answer.status !== 200) this.sid = undefined;
    return answer;
  }

  private post(sid: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<RawAnswer> {
    return httpRequest(this.port, {
      method: "POST",
      path: `${ENGINE_PATH}?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`,
      headers: { "content-type": "text/plain;charset=UTF-8", ...headers },
      body,
    });
  }
}
