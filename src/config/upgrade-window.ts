/*
 * The upgrade window's bound, shared by the settings' rules (primary) and the uWS engine (worker):
 * a module without the settings' schemas, so that a worker does not load them.
 */

/** The longest upgrade window that stays below ⅔ of `pingInterval` (an integer of ms). */
export function maxUpgradeWindow(pingInterval: number): number {
  return Math.floor((2 * pingInterval - 1) / 3);
}

/**
 * The upgrade window to use with `pingInterval`: `config.upgradeWindow`, lowered below ⅔ of
 * `pingInterval` if needed, so that a session is handed to the application well before its first
 * heartbeat is due. For an application whose own Socket.IO options change `pingInterval`
 * (`loadConfig` already fits the window to `PING_INTERVAL`).
 */
export function upgradeWindowFor(config: { upgradeWindow: number }, pingInterval: number): number {
  return Math.min(config.upgradeWindow, maxUpgradeWindow(pingInterval));
}
