import { execSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

/** Debian's Chromium (package `chromium`). */
export const CHROMIUM = "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Installs Debian's Chromium when it is missing (the tests run as root; takes minutes the first time). */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  execSync("apt-get update && apt-get install -y chromium", {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    timeout: 15 * 60_000,
  });
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is still missing after apt-get install chromium`);
}

export interface Browser {
  context: BrowserContext;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Starts headless Chromium with a fresh profile (`--user-data-dir`, removed by `close`). */
export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), "chat-browser-profile-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1200, height: 760 },
      timeout: 60_000,
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  context.setDefaultTimeout(10_000);
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A page that remembers the JavaScript errors and dialogs (e.g. an injected `alert`) it saw. */
export interface WatchedPage {
  page: Page;
  errors: string[];
  dialogs: string[];
}

export async function openPage(context: BrowserContext, url: string): Promise<WatchedPage> {
  const page = await context.newPage();
  const watched: WatchedPage = { page, errors: [], dialogs: [] };
  page.on("pageerror", (err) => watched.errors.push(err.message));
  page.on("dialog", (dialog) => {
    watched.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss().catch(() => undefined);
  });
  await page.goto(url, { waitUntil: "domcontentloaded" });
  return watched;
}

/** Waits until the chat page is connected and knows its worker; returns the worker (`worker-<id>`). */
export async function chatReady(page: Page, timeoutMs = 30_000): Promise<string> {
  await page.locator('#state[data-state="connected"], #state[data-state="reconnected"]').waitFor({ timeout: timeoutMs });
  await page.locator("body[data-instance]").waitFor({ state: "attached", timeout: timeoutMs });
  return (await page.locator("body").getAttribute("data-instance")) ?? "";
}

/** Picks a username on the chat page and waits for the server's answer; returns `set` or `refused`. */
export async function chooseUsername(page: Page, name: string): Promise<string> {
  await page.locator("#username").fill(name);
  await page.locator("#set-username").click();
  const answered = page.locator('#username-status[data-status="set"], #username-status[data-status="refused"]');
  await answered.waitFor();
  return (await answered.getAttribute("data-status")) ?? "";
}

/** Sends a chat message from the chat page. */
export async function sendMessage(page: Page, text: string): Promise<void> {
  await page.locator("#message").fill(text);
  await page.locator("#send").click();
}

/** The user and text of the first message in `#messages` whose text is exactly `text` (waits for it). */
export async function messageShown(page: Page, text: string, timeoutMs = 30_000): Promise<{ user: string; text: string }> {
  const item = page
    .locator("#messages li.message")
    .filter({ has: page.locator(".text", { hasText: text }) })
    .first();
  await item.waitFor({ timeout: timeoutMs });
  return {
    user: (await item.locator(".user").textContent()) ?? "",
    text: (await item.locator(".text").textContent()) ?? "",
  };
}
