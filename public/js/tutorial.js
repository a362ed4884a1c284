/*
 * The tutorial page (/tutorial.html): every seed feature's events, written into its card as they
 * arrive. All server data is shown with textContent.
 */
(function () {
  "use strict";

  var P = window.SocketPages;
  function $(id) {
    return document.getElementById(id);
  }
  function on(id, type, handler) {
    $(id).addEventListener(type, handler);
  }

  P.keepTokenOnLinks();
  var socket = P.openSocket("/");
  var nsp = P.openSocket("/my-namespace");

  var MAX_ENTRIES = 50;

  /** Appends "time · event · text" to the log list `listId`; kind: "out" (sent) or "bad". */
  function log(listId, event, text, kind) {
    var list = $(listId);
    var item = document.createElement("li");
    if (kind) item.className = kind;
    var time = document.createElement("time");
    time.textContent = P.clock();
    var name = document.createElement("span");
    name.className = "event";
    name.textContent = event;
    var body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    item.append(time, name, body);
    list.appendChild(item);
    while (list.children.length > MAX_ENTRIES) list.removeChild(list.firstChild);
    list.scrollTop = list.scrollHeight;
  }

  function describe(value) {
    if (typeof value === "string") return value;
    try {
      return JSON.stringify(value);
    } catch (err) {
      return String(value);
    }
  }

  // ---- connection -------------------------------------------------------------------------
  socket.io.on("open", function () {
    var engine = socket.io.engine;
    $("transport").textContent = engine.transport.name;
    engine.on("upgrade", function (transport) {
      $("transport").textContent = transport.name;
      log("log-connection", "upgrade", "now on " + transport.name);
    });
  });

  socket.on("connect", function () {
    $("socket-id").textContent = socket.id;
    $("transport").textContent = socket.io.engine.transport.name;
    log("log-connection", "connect", "id " + socket.id + " via " + socket.io.engine.transport.name);
    socket.timeout(5000).emit("serverInfo", function (err, info) {
      if (err || !info) return;
      document.body.dataset.instance = String(info.instance);
      $("instance").textContent = String(info.instance);
    });
  });

  socket.on("disconnect", function (reason) {
    $("socket-id").textContent = "–";
    log("log-connection", "disconnect", reason, "bad");
  });

  // ---- built-in message, testerEvent, clientEvent ------------------------------------------
  socket.on("message", function (text) {
    log("log-message", "message", describe(text));
  });

  socket.on("testerEvent", function (data) {
    var text = data && typeof data === "object" ? data.description + " — " + data.message : describe(data);
    log("log-testerEvent", "testerEvent", text);
  });

  on("send-client-event", "click", function () {
    var data = "Sent an event from the client!";
    socket.emit("clientEvent", data);
    log("log-clientEvent", "clientEvent", data + " (the server logs it)", "out");
  });

  // ---- broadcasts -------------------------------------------------------------------------
  socket.on("broadcast", function (data) {
    log("log-broadcast", "broadcast", data && data.description ? data.description : describe(data));
  });

  socket.on("newclientconnect", function (data) {
    log("log-newclientconnect", "newclientconnect", data && data.description ? data.description : describe(data));
  });

  // ---- rooms ------------------------------------------------------------------------------
  socket.on("connectToRoom", function (text) {
    log("log-connectToRoom", "connectToRoom", describe(text));
  });

  on("leave-room", "click", function () {
    socket.timeout(5000).emit("leaveRoom", function (err, answer) {
      if (err) return log("log-connectToRoom", "leaveRoom", "no answer", "bad");
      if (answer && answer.ok) return log("log-connectToRoom", "leaveRoom", "left room no. " + answer.room, "out");
      log("log-connectToRoom", "leaveRoom", (answer && answer.error) || describe(answer), "bad");
    });
  });

  // ---- chat, seed 1 -----------------------------------------------------------------------
  on("chat1-name-form", "submit", function (event) {
    event.preventDefault();
    var name = $("chat1-name").value.trim();
    var problem = P.usernameProblem(name);
    if (problem) return log("log-chat1", "setUsername", problem, "bad");
    socket.emit("setUsername", name); // the seed's way: the answer is an event, not an ack
    log("log-chat1", "setUsername", name, "out");
  });

  on("chat1-msg-form", "submit", function (event) {
    event.preventDefault();
    var input = $("chat1-msg");
    var problem = P.messageProblem(input.value.trim());
    if (problem) return log("log-chat1", "msg", problem, "bad");
    socket.emit("msg", { message: input.value });
    log("log-chat1", "msg", input.value, "out");
    input.value = "";
  });

  socket.on("userSet", function (data) {
    log("log-chat1", "userSet", "you are " + (data && data.username));
  });
  socket.on("userExists", function (text) {
    log("log-chat1", "userExists", describe(text), "bad");
  });
  socket.on("newmsg", function (data) {
    log("log-chat1", "newmsg", data ? data.user + ": " + data.message : describe(data));
  });

  // ---- chat, seed 2 -----------------------------------------------------------------------
  on("chat2-form", "submit", function (event) {
    event.preventDefault();
    var input = $("chat2-input");
    var problem = P.messageProblem(input.value.trim());
    if (problem) return log("log-chat2", "chat message", problem, "bad");
    socket.emit("chat message", input.value);
    input.value = "";
  });

  socket.on("chat message", function (text) {
    log("log-chat2", "chat message", describe(text));
  });

  // refused input sent without an ack (addition to the seeds)
  socket.on("inputError", function (error) {
    var list = error && error.event === "chat message" ? "log-chat2" : "log-chat1";
    log(list, "inputError", error ? error.event + ": " + error.reason : describe(error), "bad");
  });

  // ---- /my-namespace ----------------------------------------------------------------------
  P.trackConnection(nsp, function (state, detail) {
    P.renderState($("namespace-state"), state, detail);
  });
  nsp.on("myevent", function (text) {
    log("log-myevent", "myevent", describe(text));
  });

  // ---- middleware -------------------------------------------------------------------------
  var token = P.pageToken();
  $("page-token").textContent = token ? "given (" + token.length + " characters)" : "none";

  // a refusal by a server middleware carries `data` (transport failures do not: they are shown
  // under "Error handling")
  function fromMiddleware(err) {
    return Object.prototype.hasOwnProperty.call(err, "data");
  }
  socket.on("connect_error", function (err) {
    if (fromMiddleware(err)) log("log-middleware", "connect_error", "/ : " + err.message, "bad");
  });
  nsp.on("connect_error", function (err) {
    if (fromMiddleware(err)) log("log-middleware", "connect_error", "/my-namespace : " + err.message, "bad");
  });

  /** Opens a separate, one-off connection with `auth` to show what the middleware answers. */
  function probe(label, auth) {
    var options = { forceNew: true, reconnection: false, timeout: 8000 };
    if (auth) options.auth = auth;
    var test = window.io(options);
    log("log-middleware", "probe", label + "…", "out");
    test.on("connect", function () {
      log("log-middleware", "connect", label + ": accepted (this server requires no token)");
      test.close();
    });
    test.on("connect_error", function (err) {
      log("log-middleware", "connect_error", label + ": " + err.message, "bad");
      test.close();
    });
  }
  on("try-no-token", "click", function () {
    probe("without a token", null);
  });
  on("try-wrong-token", "click", function () {
    probe("with a wrong token", { token: "not-a-valid-token" });
  });

  // ---- logging and debugging --------------------------------------------------------------
  function showDebug() {
    var value = null;
    try {
      value = window.localStorage.getItem("debug");
    } catch (err) {
      /* storage blocked */
    }
    $("debug-status").textContent = value
      ? "localStorage.debug = '" + value + "' (reload to apply; output goes to the console)"
      : "Client debug output is off.";
  }
  on("debug-on", "click", function () {
    try {
      window.localStorage.setItem("debug", "socket.io-client:*");
    } catch (err) {
      /* storage blocked */
    }
    showDebug();
  });
  on("debug-off", "click", function () {
    try {
      window.localStorage.removeItem("debug");
    } catch (err) {
      /* storage blocked */
    }
    showDebug();
  });
  showDebug();

  // ---- error handling: connection states ----------------------------------------------------
  P.trackConnection(socket, function (state, detail) {
    P.renderState($("state"), state, detail);
    P.renderState($("tutorial-state"), state, detail);
    var bad = state === "disconnected" || state === "connect_error" || state === "reconnect_failed";
    log("log-states", state, detail, bad ? "bad" : "");
  });

  on("disconnect", "click", function () {
    socket.disconnect();
  });
  on("connect", "click", function () {
    if (!socket.connected) socket.connect();
  });
})();
