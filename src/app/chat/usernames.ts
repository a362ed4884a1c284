import { STATE, type ChatFeature, type ChatSocket } from "./context";
import { ackOf, refuse, safe } from "./safe-handler";
import { MESSAGE_RULE, USERNAME_RULE, usernameKey, validMessage, validUsername } from "./validation";

/**
 * Seed 1, the chat: `setUsername` claims a name, unique in the whole cluster (also when clients on
 * different workers claim it at the same moment: the shared state decides), answered by `userSet`
 * or `userExists`; the name is freed when its owner disconnects (or its worker dies). `msg` is
 * broadcast as `newmsg` with the sender's server-side username, so nobody can speak as someone else.
 * The online list (`users`, addition) is sent to everyone when it changes.
 */
export const usernames: ChatFeature = ({ io, state, log }) => {
  const publishUsers = (local = false) =>
    state
      .keys(STATE.shownNames)
      .then((users) => (local ? io.local : io).emit("users", users))
      .catch((err: unknown) => log.error({ err }, "usernames: cannot list users"));

  const release = async (socket: ChatSocket, name: string) => {
    await state.release(STATE.usernames, usernameKey(name), socket.id);
    await state.release(STATE.shownNames, name, socket.id);
  };

  io.on("connection", (socket) => {
    socket.data.username = null;
    // one claim at a time per connection, so that a name change cannot interleave with itself
    let queue: Promise<unknown> = Promise.resolve();
    const serially = (work: () => Promise<unknown>) => (queue = queue.then(work, work));

    socket.on(
      "setUsername",
      safe(log, "setUsername", (value: unknown, maybeAck: unknown) => {
        const ack = ackOf<{ username: string }>(maybeAck);
        const name = validUsername(value);
        if (name === undefined) return refuse(socket, "setUsername", USERNAME_RULE, ack);
        return serially(async () => {
          const previous = socket.data.username;
          if (previous !== name) {
            const taken = !(await state.claim(STATE.usernames, usernameKey(name), socket.id));
            if (taken) {
              const text = `${name} username is taken! Try some other username.`;
              socket.emit("userExists", text);
              return ack?.({ ok: false, error: text });
            }
            await state.claim(STATE.shownNames, name, socket.id);
            if (!socket.connected) return release(socket, name);
            socket.data.username = name;
            if (previous !== null && usernameKey(previous) !== usernameKey(name)) await release(socket, previous);
            else if (previous !== null) await state.release(STATE.shownNames, previous, socket.id);
            void publishUsers();
          }
          socket.emit("userSet", { username: name });
          ack?.({ ok: true, username: name });
        });
      }),
    );

    socket.on(
      "msg",
      safe(log, "msg", (data: unknown, maybeAck: unknown) => {
        const ack = ackOf(maybeAck);
        const message = validMessage((data as { message?: unknown } | null)?.message);
        if (message === undefined) return refuse(socket, "msg", MESSAGE_RULE, ack);
        // after any pending setUsername of this connection, in the order the client sent them
        return serially(async () => {
          const user = socket.data.username;
          if (user === null) return refuse(socket, "msg", "choose a username first (setUsername)", ack);
          io.emit("newmsg", { message, user });
          ack?.({ ok: true });
        });
      }),
    );

    socket.on("disconnect", () => {
      void serially(async () => {
        const name = socket.data.username;
        if (name === null) return;
        socket.data.username = null;
        await release(socket, name);
        void publishUsers();
      }).catch((err: unknown) => log.error({ err }, "usernames: cannot release a name"));
    });
  });

  state.onReleased((change) => {
    if (change.spaces.includes(STATE.shownNames)) void publishUsers(true);
  });
};
