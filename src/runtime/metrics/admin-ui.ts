import { instrument } from "@socket.io/admin-ui";
import createDebug from "debug";
import os from "node:os";
import path from "node:path";
import type { Server } from "socket.io";
import type { SharedState } from "../../state/shared-state";

const debug = createDebug("runtime:metrics:admin-ui");

/** The admin UI's user name (basic authentication); the password is `ADMIN_UI_PASSWORD`. */
export const ADMIN_UI_USERNAME = "admin";
/** The admin UI's Socket.IO namespace. */
export const ADMIN_UI_NAMESPACE = "/admin";

const PACKAGE_DIR = path.dirname(require.resolve("@socket.io/admin-ui/package.json"));
/** The admin UI's own static files (shipped in the package), served under `/admin-ui/`. */
export const ADMIN_UI_DIR = path.join(PACKAGE_DIR, "ui", "dist");

/** bcryptjs, as `@socket.io/admin-ui` itself resolves it (it checks passwords with it). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const bcrypt = require(require.resolve("bcryptjs", { paths: [PACKAGE_DIR] })) as {
  hashSync(password: string, rounds: number): string;
};

/** A bcrypt hash that bcryptjs can check (`$2a$` or `$2b$`, cost, 53 characters of salt and hash). */
const BCRYPT_HASH = /^\$2[ab]\$\d{2}\$[./A-Za-z0-9]{53}$/;

/**
 * The hash the admin UI needs: `password` itself when it already is a bcrypt hash (so that the
 * plain password need not be in the environment), else its bcrypt hash (cost 10, at start).
 */
export function adminPasswordHash(password: string): string {
  return BCRYPT_HASH.test(password) ? password : bcrypt.hashSync(password, 10);
}

export interface AdminUiOptions {
  /** `ADMIN_UI_PASSWORD`: the plain password or its bcrypt hash. */
  password: string;
  workerId: number;
  /** Cluster-wide state, for the UI's sessions. */
  state: SharedState;
}

/**
 * Switches on `@socket.io/admin-ui` on this worker's server: namespace `/admin`, basic
 * authentication (user `admin`), one `serverId` per worker so that the UI lists every worker
 * (each worker's stats reach the UI through the cluster adapter, whichever worker the UI is
 * connected to), and sessions valid on every worker.
 *
 * Always in the UI's `production` mode: its `development` mode wraps every `socket.data` in a
 * Proxy, which cannot cross processes, and `fetchSockets()` across workers would then fail.
 */
export function enableAdminUi(io: Server, options: AdminUiOptions): void {
  const holder = `worker-${options.workerId}`;
  const serverId = `${os.hostname()}#${holder}`;
  instrument(io, {
    namespaceName: ADMIN_UI_NAMESPACE,
    auth: { type: "basic", username: ADMIN_UI_USERNAME, password: adminPasswordHash(options.password) },
    mode: "production",
    serverId,
    store: new SharedSessionStore(options.state, holder) as never,
  });
  debug("admin UI on namespace %s as %s", ADMIN_UI_NAMESPACE, serverId);
}

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
