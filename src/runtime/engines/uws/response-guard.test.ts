import net from "node:net";
import uws, { type us_listen_socket } from "uWebSockets.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkUws } from "./primary";
import { guardResponse, type GuardedResponse } from "./response-guard";

/** What a route did with its response after it was spent: the error uWS threw, or none. */
type Outcome = { error?: string; finished: boolean; aborted: boolean };

// skipped where no uWebSockets.js binary serves (Node 22/24 on glibc < 2.38: test/engine-build.test.ts says why)
describe.skipIf(!checkUws().ok)("guardResponse on a real uWS app", () => {
  const app = uws.App();
  let token: us_listen_socket | undefined;
  let port = 0;
  const outcomes = new Map<string, (outcome: Outcome) => void>();
  const outcome = (name: string) => new Promise<Outcome>((resolve) => outcomes.set(name, resolve));

  /** Touches `res` again after a delay, as engine.io 6.6.13's body timer does after a 413. */
  const touchLater = (name: string, res: GuardedResponse) =>
    setTimeout(() => {
      const result: Outcome = { finished: res.finished, aborted: res.aborted };
      try {
        res.cork(() => res.writeStatus("408 Request Timeout").writeHeader("x-late", "1").end("late"));
        res.close();
      } catch (err) {
        result.error = (err as Error).message;
      }
      outcomes.get(name)?.(result);
    }, 50);

  beforeAll(async () => {
    app.post("/refused", (res) => {
      const guarded = guardResponse(res);
      guarded.onData(() => undefined);
      guarded.writeStatus("413 Payload Too Large").end("too large");
      touchLater("refused", guarded);
    });
    app.post("/abandoned", (res) => {
      const guarded = guardResponse(res);
      guarded.onData(() => undefined);
      guarded.onAborted(() => touchLater("abandoned", guarded));
    });
    await new Promise<void>((resolve, reject) =>
      app.listen("127.0.0.1", 0, (listening) => {
        if (!listening) return reject(new Error("cannot listen"));
        token = listening;
        port = uws.us_socket_local_port(listening);
        resolve();
      }),
    );
  });
  afterAll(() => {
    if (token) uws.us_listen_socket_close(token);
  });

  it("ignores writes to a response already ended (a timer firing after a 413)", async () => {
    const late = outcome("refused");
    const answer = await fetch(`http://127.0.0.1:${port}/refused`, { method: "POST", body: "x".repeat(100) });
    expect(answer.status).toBe(413);
    expect(await answer.text()).toBe("too large");
    expect(await late).toEqual({ finished: true, aborted: false });
  });

  it("ignores writes to a response whose client went away", async () => {
    const late = outcome("abandoned");
    const client = net.connect(port, "127.0.0.1");
    await new Promise((resolve) => client.once("connect", resolve));
    client.write("POST /abandoned HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npartial");
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.destroy();
    expect(await late).toEqual({ finished: false, aborted: true });
  });
});
