import { mkdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import {
  chatReady,
  chooseUsername,
  ensureChromium,
  launchChromium,
  messageShown,
  openPage,
  sendMessage,
  type Browser,
  type WatchedPage,
} from "./helpers/browser";
import { ROOT, startServer, type RunningServer } from "./helpers/server";

/**
 * The pages in public/ in a real browser (Debian's Chromium through playwright-core) against the
 * real server, `APP=chat` on 4 workers: the chat between two tabs served by different workers,
 * a refused duplicate username, HTML-looking text shown as text, and the tutorial's live events.
 */

const ARTIFACTS = path.join(ROOT, "test-artifacts");
const INSTALL_TIMEOUT = 20 * 60_000;

describe("chat pages in Chromium, APP=chat, 4 workers", () => {
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  const pages: WatchedPage[] = [];

  beforeAll(async () => {
    ensureChromium();
    server = await startServer({ workers: 4, app: "chat" });
    browser = await launchChromium();
  }, INSTALL_TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function open(pathname: string): Promise<WatchedPage> {
    const watched = await openPage(browser!.context, server!.url + pathname);
    pages.push(watched);
    return watched;
  }

  it("two tabs on different workers chat; a taken name is refused; HTML is shown as text", async () => {
    const alice = await open("/");
    const bob = await open("/");
    const aliceWorker = await chatReady(alice.page);
    let bobWorker = await chatReady(bob.page);
    // the kernel spreads connections over the workers: reload Bob until another worker serves him
    for (let i = 0; i < 12 && bobWorker === aliceWorker; i++) {
      await bob.page.reload({ waitUntil: "domcontentloaded" });
      bobWorker = await chatReady(bob.page);
    }
    expect(aliceWorker).toMatch(/^worker-\d+$/);
    expect(bobWorker).toMatch(/^worker-\d+$/);
    expect(bobWorker).not.toBe(aliceWorker);

    expect(await chooseUsername(alice.page, "Alice")).toBe("set");
    expect(await chooseUsername(bob.page, "Bob")).toBe("set");
    await expect.poll(() => alice.page.locator("#username-status").textContent()).toContain("Alice");

    // both see each other online, cluster-wide
    for (const { page } of [alice, bob]) {
      await page.locator("#users li", { hasText: "Alice" }).waitFor();
      await page.locator("#users li", { hasText: "Bob" }).waitFor();
      expect(Number(await page.locator("#count").getAttribute("data-count"))).toBeGreaterThanOrEqual(2);
      expect(await page.locator("#room").getAttribute("data-room")).toMatch(/^\d+$/);
    }

    // each sees the other's message under the sender's name
    await sendMessage(alice.page, "Hello Bob, from another worker!");
    expect(await messageShown(bob.page, "Hello Bob, from another worker!")).toEqual({
      user: "Alice",
      text: "Hello Bob, from another worker!",
    });
    await sendMessage(bob.page, "Hi Alice!");
    expect(await messageShown(alice.page, "Hi Alice!")).toEqual({ user: "Bob", text: "Hi Alice!" });
    expect(await messageShown(bob.page, "Hi Alice!")).toEqual({ user: "Bob", text: "Hi Alice!" });

    // a third tab cannot take a name in use (whatever its case), and the refusal is shown
    const mallory = await open("/");
    await chatReady(mallory.page);
    expect(await chooseUsername(mallory.page, "Alice")).toBe("refused");
    expect(await mallory.page.locator("#username-status").textContent()).toContain("Alice username is taken");
    expect(await chooseUsername(mallory.page, "bob")).toBe("refused");
    expect(await mallory.page.locator("#message").isDisabled()).toBe(true);

    // text that looks like HTML stays text, everywhere it is shown
    const html = "<img src=x onerror=alert(1)>";
    await sendMessage(bob.page, html);
    expect(await messageShown(alice.page, html)).toEqual({ user: "Bob", text: html });
    expect(await messageShown(mallory.page, html)).toEqual({ user: "Bob", text: html });
    expect(await chooseUsername(mallory.page, "<b>x</b>")).toBe("refused");
    for (const { page } of [alice, bob, mallory]) {
      expect(await page.locator("#messages img, #users img, #users b, #username-status b").count()).toBe(0);
    }

    await alice.page.locator("#message").fill("This one is still being typed…");
    mkdirSync(ARTIFACTS, { recursive: true });
    await alice.page.screenshot({ path: path.join(ARTIFACTS, "chat.png") });

    for (const watched of [alice, bob, mallory]) {
      expect(watched.dialogs).toEqual([]);
      expect(watched.errors).toEqual([]);
    }
  });

  it("the tutorial shows message (sent 4 s after connection), testerEvent, broadcast and myevent", async () => {
    const started = Date.now();
    const tutorial = await open("/tutorial.html");
    const { page } = tutorial;
    // a bound on a stall, not a speed: the greeting is due 4 s after the connection
    const within = { timeout: 30_000 };
    await page.locator("#log-message li", { hasText: "Sent a message 4seconds after connection!" }).waitFor(within);
    await page.locator("#log-testerEvent li", { hasText: "A custom event named testerEvent!" }).waitFor(within);
    await page.locator("#log-broadcast li", { hasText: /\d+ clients? connected!/ }).waitFor(within);
    await page.locator("#log-myevent li", { hasText: "Hello everyone!" }).waitFor(within);
    console.log(`tutorial: every line shown after ${Date.now() - started} ms`);
    // the delayed greeting really waited for its timer
    expect(Date.now() - started).toBeGreaterThanOrEqual(4_000);
    expect(await page.locator("#state").getAttribute("data-state")).toBe("connected");
    expect(await page.locator("#namespace-state").getAttribute("data-state")).toBe("connected");
    expect(await page.locator("body").getAttribute("data-instance")).toMatch(/^worker-\d+$/);

    // the client event button, and the states when the socket is closed and opened again
    await page.locator("#send-client-event").click();
    await page.locator("#log-clientEvent li").first().waitFor();
    await page.locator("#disconnect").click();
    await page.locator('#tutorial-state[data-state="disconnected"]').waitFor();
    await page.locator("#connect").click();
    await page.locator('#tutorial-state[data-state="connected"]').waitFor();

    await page.screenshot({ path: path.join(ARTIFACTS, "tutorial.png"), fullPage: true });
    expect(tutorial.errors).toEqual([]);
  });
});

describe("chat pages in Chromium, with AUTH_TOKENS", () => {
  let server: RunningServer | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    ensureChromium();
    server = await startServer({ workers: 2, app: "chat", env: { AUTH_TOKENS: "page-secret,other" } });
    browser = await launchChromium();
  }, INSTALL_TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("a page without a token shows the middleware's connect_error; ?token= lets it in", async () => {
    const refused = await openPage(browser!.context, server!.url + "/");
    await refused.page.locator('#state[data-state="connect_error"]').waitFor();
    expect(await refused.page.locator("#state").textContent()).toContain("authentication error");

    const refusedTutorial = await openPage(browser!.context, server!.url + "/tutorial.html");
    await refusedTutorial.page.locator('#namespace-state[data-state="connect_error"]').waitFor();
    await refusedTutorial.page.locator("#log-middleware li", { hasText: "/ : authentication error" }).waitFor();
    await refusedTutorial.page.locator("#log-middleware li", { hasText: "/my-namespace : authentication error" }).waitFor();

    const tutorial = await openPage(browser!.context, server!.url + "/tutorial.html?token=page-secret");
    await tutorial.page.locator('#state[data-state="connected"]').waitFor();
    await tutorial.page.locator('#namespace-state[data-state="connected"]').waitFor();
    await tutorial.page.locator("#log-myevent li", { hasText: "Hello everyone!" }).waitFor();
    // the probe without a token is refused by the same middleware
    await tutorial.page.locator("#try-no-token").click();
    await tutorial.page.locator("#log-middleware li", { hasText: "without a token: authentication error" }).waitFor();
    // the link back to the chat keeps the token
    await tutorial.page.locator("header nav a").click();
    await tutorial.page.waitForURL(/\/\?token=page-secret$/);
    expect(await chatReady(tutorial.page)).toMatch(/^worker-\d+$/);
    expect(await chooseUsername(tutorial.page, "Token holder")).toBe("set");

    for (const watched of [refused, refusedTutorial, tutorial]) expect(watched.errors).toEqual([]);
  });
});

describe("chat pages in Chromium, when the server goes away and comes back", () => {
  let server: RunningServer | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    ensureChromium();
    server = await startServer({ workers: 2, app: "chat" });
    browser = await launchChromium();
  }, INSTALL_TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("shows disconnected, reconnecting (attempt n), reconnected, and claims the username again", async () => {
    const chat = await openPage(browser!.context, server!.url + "/");
    await chatReady(chat.page);
    expect(await chooseUsername(chat.page, "Carol")).toBe("set");
    const tutorial = await openPage(browser!.context, server!.url + "/tutorial.html");
    await tutorial.page.locator('#tutorial-state[data-state="connected"]').waitFor();

    const port = server!.port;
    expect(await server!.stop()).toBe(0);
    await chat.page.locator('#state[data-state="reconnecting"]').waitFor({ timeout: 15_000 });
    expect(await chat.page.locator("#message").isDisabled()).toBe(true);
    // (a failure here prints what the page logged: seen once, in CI on Node 24 with the Node engine)
    await explained(tutorial.page, tutorial.page.locator("#log-states li", { hasText: "disconnected" }).first().waitFor({ timeout: 15_000 }));
    await explained(tutorial.page, tutorial.page.locator("#log-states li", { hasText: /reconnecting\s*attempt \d+/ }).first().waitFor({ timeout: 15_000 }));

    server = await startServer({ workers: 2, app: "chat", port });
    await chat.page.locator('#state[data-state="reconnected"]').waitFor({ timeout: 20_000 });
    await chat.page.locator('#username-status[data-status="set"]').waitFor();
    await chat.page.locator("#users li", { hasText: "Carol" }).waitFor();
    expect(await chat.page.locator("#message").isDisabled()).toBe(false);
    await tutorial.page.locator('#tutorial-state[data-state="reconnected"]').waitFor({ timeout: 20_000 });
    await tutorial.page.locator('#namespace-state[data-state="reconnected"]').waitFor();

    expect(chat.errors).toEqual([]);
    expect(tutorial.errors).toEqual([]);
  });
});

/** Awaits `waiting`; when it fails, prints the page's state log and its errors first. */
async function explained(page: Page, waiting: Promise<unknown>): Promise<void> {
  try {
    await waiting;
  } catch (err) {
    const states = await page.locator("#log-states").innerText().catch((e: Error) => `(unreadable: ${e.message})`);
    console.log(`the page's connection states:\n${states}`);
    throw err;
  }
}
