/*
 * Shared by the chat and the tutorial: opening sockets (with the page's `?token=`) and following
 * a socket's connection state, using the names the seed documents list:
 *   connecting, connected, disconnected, reconnecting (attempt n), reconnected, connect_error,
 *   reconnect_failed.
 * Classic script (no build step): exposes `window.SocketPages`.
 */
(function (global) {
  "use strict";

  /** The `token` query parameter of this page's URL, or null. */
  function pageToken() {
    var token = new URLSearchParams(global.location.search).get("token");
    return token ? token : null;
  }

  /**
   * Opens a socket on `namespace` (default "/") with the default client options, passing the page's
   * token as `auth.token` when the URL has one (required when the server runs with AUTH_TOKENS).
   * Extra options are merged over those.
   */
  function openSocket(namespace, extra) {
    var options = {};
    var token = pageToken();
    if (token) options.auth = { token: token };
    if (extra) {
      Object.keys(extra).forEach(function (key) {
        options[key] = extra[key];
      });
    }
    return namespace && namespace !== "/" ? global.io(namespace, options) : global.io(options);
  }

  var LABELS = {
    connecting: "Connecting…",
    connected: "Connected",
    disconnected: "Disconnected",
    reconnecting: "Reconnecting…",
    reconnected: "Reconnected",
    connect_error: "Connection error",
    reconnect_failed: "Reconnection failed",
  };

  /**
   * Follows `socket`'s connection state. `onChange(state, detail)` is called on every change
   * (detail: a sentence for a person, or ""). Returns `{ state(), detail() }`.
   *
   * Socket events: connect, disconnect, connect_error.
   * Manager events (socket.io): reconnect_attempt, reconnect, reconnect_error, reconnect_failed.
   */
  function trackConnection(socket, onChange) {
    var current = "connecting";
    var detail = "";
    var reconnecting = false; // the manager is between reconnect_attempt and reconnect/reconnect_failed
    var reconnected = false; // the next `connect` follows a manager reconnection
    var attempt = 0;

    function set(state, text) {
      current = state;
      detail = text || "";
      onChange(current, detail);
    }

    socket.on("connect", function () {
      if (reconnected) {
        set("reconnected", "back after " + attempt + (attempt === 1 ? " attempt" : " attempts"));
      } else {
        set("connected", "");
      }
      reconnected = false;
      reconnecting = false;
      attempt = 0;
    });

    socket.on("disconnect", function (reason) {
      var hint = socket.active ? "; the client will reconnect" : "";
      set("disconnected", reason + hint);
    });

    socket.on("connect_error", function (err) {
      if (reconnecting) {
        // a failed reconnection attempt: stay in "reconnecting", say why
        set("reconnecting", "attempt " + attempt + " failed: " + err.message);
      } else {
        var more = socket.active ? "; retrying" : "";
        set("connect_error", err.message + more);
      }
    });

    socket.io.on("reconnect_attempt", function (n) {
      reconnecting = true;
      attempt = n;
      set("reconnecting", "attempt " + n);
    });

    socket.io.on("reconnect_error", function (err) {
      if (current !== "reconnecting") set("reconnecting", "attempt " + attempt + " failed: " + err.message);
    });

    socket.io.on("reconnect", function (n) {
      // the transport is back; the socket's `connect` follows once the namespace accepts it
      reconnecting = false;
      reconnected = true;
      attempt = n;
    });

    socket.io.on("reconnect_failed", function () {
      reconnecting = false;
      set("reconnect_failed", "gave up after " + attempt + (attempt === 1 ? " attempt" : " attempts"));
    });

    onChange(current, detail);
    return {
      state: function () {
        return current;
      },
      detail: function () {
        return detail;
      },
    };
  }

  /**
   * Shows a connection state in `element`: its text, and `data-state` for styling and tests.
   */
  function renderState(element, state, detail) {
    element.dataset.state = state;
    element.textContent = LABELS[state] || state;
    if (detail) {
      var small = document.createElement("span");
      small.className = "state-detail";
      small.textContent = " — " + detail;
      element.appendChild(small);
    }
  }

  /** Client-side copy of the server's rules (the server decides; this only gives a friendly message). */
  var USERNAME = /^[\p{L}\p{N} _.\-]{1,24}$/u;
  function usernameProblem(name) {
    if (name.length === 0) return "Choose a username first.";
    if (name.length > 24) return "A username has at most 24 characters.";
    if (!USERNAME.test(name)) return "Use letters, digits, spaces, _ - and . only.";
    if (name.replace(/[ ._\-]/g, "").length === 0) return "A username needs at least one letter or digit.";
    return null;
  }
  function messageProblem(text) {
    if (text.length === 0) return "Type a message first.";
    if (text.length > 500) return "A message has at most 500 characters.";
    return null;
  }

  /** "HH:MM:SS" of now, for logs. */
  function clock() {
    return new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  }

  /** Keeps the page's `?token=` on links to the other pages (marked `data-keep-token`). */
  function keepTokenOnLinks() {
    var token = pageToken();
    if (!token) return;
    document.querySelectorAll("a[data-keep-token]").forEach(function (link) {
      var url = new URL(link.getAttribute("href"), global.location.href);
      url.searchParams.set("token", token);
      link.setAttribute("href", url.pathname + url.search + url.hash);
    });
  }

  global.SocketPages = {
    pageToken: pageToken,
    keepTokenOnLinks: keepTokenOnLinks,
    openSocket: openSocket,
    trackConnection: trackConnection,
    renderState: renderState,
    usernameProblem: usernameProblem,
    messageProblem: messageProblem,
    clock: clock,
    LABELS: LABELS,
  };
})(window);
