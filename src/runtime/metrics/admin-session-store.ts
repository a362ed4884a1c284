import createDebug from "debug";
import type { SharedState } from "../../state/shared-state";

const debug = createDebug("runtime:metrics:admin-sessions");

/** The `SharedState` space holding the admin UI's session ids. */
export const ADMIN_SESSIONS_SPACE = "admin-ui-sessions";

/**
 * The admin UI's session store (`@socket.io/admin-ui`'s `store` option), cluster-wide: after
 * logging in once, the UI reconnects with its session id alone, and may reach any worker.
 * Sessions live in the cluster's {@link SharedState}, leased to the worker that created them:
 * when that worker dies, the UI asks for the password again.
 */
export class SharedSessionStore {
  constructor(
    private readonly state: SharedState,
    /** The holder of the sessions this worker creates (this worker). */
    private readonly holder: string,
  ) {}

  async doesSessionExist(sessionId: string): Promise<boolean> {
    try {
      return (await this.state.keys(ADMIN_SESSIONS_SPACE)).includes(sessionId);
    } catch (err) {
      debug("cannot check session: %s", (err as Error).message);
      return false;
    }
  }

  saveSession(sessionId: string): void {
    this.state.claim(ADMIN_SESSIONS_SPACE, sessionId, this.holder).catch((err: unknown) => {
      debug("cannot save session: %s", (err as Error).message);
    });
  }
}
