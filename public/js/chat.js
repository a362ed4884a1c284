/*
 * The chat page (/): a username, who is online, your room, messages (`msg` → `newmsg`).
 * Every piece of user text goes through textContent: never innerHTML.
 */
(function () {
  "use strict";

  var P = window.SocketPages;
  function $(id) {
    return document.getElementById(id);
  }

  var socket = P.openSocket("/");
  var me = null; // the username the server confirmed for this connection
  var wanted = null; // the username to claim again after a reconnection
  var room = null;
  var attempt = { name: null, answered: false }; // the pending setUsername

  P.keepTokenOnLinks();

  // ---- connection state -------------------------------------------------------------------
  P.trackConnection(socket, function (state, detail) {
    P.renderState($("state"), state, detail);
    if (state !== "connected" && state !== "reconnected") {
      me = null; // a new connection has no name and no room until it claims them again
      updateComposer();
      if (state === "disconnected") renderRoom(null);
    }
  });

  socket.on("connect", function () {
    refreshServerInfo();
    refreshOnline();
    if (wanted) claim(wanted);
  });

  // ---- username ---------------------------------------------------------------------------
  $("username-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var name = $("username").value.trim();
    var problem = P.usernameProblem(name);
    if (problem) return setUsernameStatus("refused", problem);
    claim(name);
  });

  function claim(name) {
    attempt = { name: name, answered: false };
    setUsernameStatus("pending", "Asking for “" + name + "”…");
    socket.timeout(5000).emit("setUsername", name, function (err, answer) {
      if (attempt.name !== name || attempt.answered) return;
      if (err) return setUsernameStatus("refused", "The server did not answer; try again.");
      if (answer && answer.ok) return accepted(answer.username);
      refused(answer && answer.error ? answer.error : name + " was refused.");
    });
  }

  function accepted(username) {
    attempt.answered = true;
    me = username;
    wanted = username;
    $("username").value = username;
    setUsernameStatus("set", "You are chatting as " + username + ".");
    updateComposer();
    renderUsers(lastUsers);
    $("message").focus();
  }

  function refused(text) {
    attempt.answered = true;
    setUsernameStatus("refused", me ? text + " You are still " + me + "." : text);
  }

  socket.on("userSet", function (data) {
    if (data && typeof data.username === "string") accepted(data.username);
  });
  socket.on("userExists", function (text) {
    refused(String(text));
  });

  function setUsernameStatus(status, text) {
    var element = $("username-status");
    element.dataset.status = status;
    element.textContent = text;
  }

  // ---- who is online ----------------------------------------------------------------------
  var lastUsers = [];

  function refreshOnline() {
    socket.timeout(5000).emit("whoIsOnline", function (err, answer) {
      if (err || !answer || !answer.ok) return;
      renderUsers(answer.users);
      renderCount(answer.clients);
    });
  }

  socket.on("users", renderUsers);
  socket.on("broadcast", function (data) {
    var n = countIn(data && data.description);
    if (n !== null) renderCount(n);
  });
  socket.on("newclientconnect", function (data) {
    var description = data && data.description;
    var n = countIn(description);
    if (n !== null) renderCount(n);
    else if (description) addNotice(description);
  });

  function countIn(description) {
    var match = /^(\d+) clients? connected/.exec(String(description || ""));
    return match ? Number(match[1]) : null;
  }

  function renderCount(n) {
    $("count").textContent = String(n);
    $("count").dataset.count = String(n);
    $("count-label").textContent = n === 1 ? "client connected" : "clients connected";
  }

  function renderUsers(users) {
    if (!Array.isArray(users)) return;
    lastUsers = users.slice().sort(function (a, b) {
      return String(a).localeCompare(String(b));
    });
    var list = $("users");
    list.replaceChildren();
    lastUsers.forEach(function (name) {
      var item = document.createElement("li");
      item.textContent = String(name);
      if (name === me) {
        item.className = "me";
        var you = document.createElement("span");
        you.className = "you";
        you.textContent = " (you)";
        item.appendChild(you);
      }
      list.appendChild(item);
    });
    if (lastUsers.length === 0) {
      var empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = "Nobody has chosen a name yet.";
      list.appendChild(empty);
    }
  }

  // ---- room -------------------------------------------------------------------------------
  socket.on("connectToRoom", function (text) {
    var match = /(\d+)\s*$/.exec(String(text));
    var number = match ? Number(match[1]) : null;
    if (number !== null && number === room) addNotice("Someone joined room no. " + number + ".");
    else addNotice(String(text));
    if (number !== null) renderRoom(number);
  });

  $("leave-room").addEventListener("click", function () {
    socket.timeout(5000).emit("leaveRoom", function (err, answer) {
      if (err) return showError("The server did not answer; try again.");
      if (!answer || !answer.ok) return showError((answer && answer.error) || "Could not leave the room.");
      addNotice("You left room no. " + answer.room + ".");
      renderRoom(null);
    });
  });

  function renderRoom(number) {
    room = number;
    $("room").dataset.room = number === null ? "" : String(number);
    $("room").textContent = number === null ? "in no room" : "room no. " + number;
    $("leave-room").disabled = number === null;
  }

  // ---- which worker serves us --------------------------------------------------------------
  function refreshServerInfo() {
    socket.timeout(5000).emit("serverInfo", function (err, info) {
      if (err || !info) return;
      document.body.dataset.instance = String(info.instance);
      $("instance").textContent = String(info.instance);
      if (typeof info.room === "number") renderRoom(info.room);
    });
  }

  // ---- messages ---------------------------------------------------------------------------
  $("message-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = $("message");
    var text = input.value;
    var problem = P.messageProblem(text.trim());
    if (problem) return showError(problem);
    input.value = "";
    socket.timeout(5000).emit("msg", { message: text }, function (err, answer) {
      if (!err && answer && answer.ok) return;
      showError(err ? "The server did not answer: message not sent." : answer.error || "Message refused.");
      if (input.value === "") input.value = text;
    });
  });

  socket.on("newmsg", function (data) {
    if (!data) return;
    addMessage(String(data.user), String(data.message));
  });

  socket.on("inputError", function (error) {
    if (error) showError(error.event + ": " + error.reason);
  });

  function addMessage(user, text) {
    var item = document.createElement("li");
    item.className = "message" + (user === me ? " mine" : "");
    item.dataset.user = user;
    var who = document.createElement("span");
    who.className = "user";
    who.textContent = user;
    var body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    var time = document.createElement("time");
    time.textContent = P.clock();
    item.append(who, body, time);
    append(item);
  }

  function addNotice(text) {
    var item = document.createElement("li");
    item.className = "notice";
    var body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    item.appendChild(body);
    append(item);
  }

  function append(item) {
    var list = $("messages");
    var atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.appendChild(item);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  var errorTimer = null;
  function showError(text) {
    var element = $("chat-error");
    element.textContent = text;
    element.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(function () {
      element.hidden = true;
    }, 6000);
  }

  function updateComposer() {
    var ready = me !== null && socket.connected;
    $("message").disabled = !ready;
    $("send").disabled = !ready;
    $("message").placeholder = ready ? "Message as " + me : "Choose a username to chat";
  }

  renderUsers([]);
})();
