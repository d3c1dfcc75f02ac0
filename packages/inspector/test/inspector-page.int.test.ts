import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { Client, Command } from "@waypoint/core";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInspector, type RunningInspector } from "../src/index.js";
import { buildApprovalGraph, type ApprovalGraph } from "./support/approval-graph.js";
import { launchChromium, screenshotDir } from "./support/browser.js";
import { runResearchAgent } from "./support/research-store.js";

/**
 * The page in headless Chromium, against startInspector on a SQLite store
 * filled by the research agent (pnpm demo's entry, 12 pages), two approval
 * threads waiting at an interrupt, and a run queued for workers.
 */
describe("inspector page in Chromium", () => {
  const PAGES = 12;
  let directory: string;
  let checkpointer: SqliteCheckpointer;
  let graph: ApprovalGraph;
  let researchThread: string;
  let queuedRun: string;
  let inspector: RunningInspector;
  let readOnly: RunningInspector;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const shots = screenshotDir();

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), "inspector-page-"));
    const research = await runResearchAgent(directory, PAGES);
    researchThread = research.threadId;
    checkpointer = new SqliteCheckpointer(research.file);
    graph = buildApprovalGraph(checkpointer);
    await graph.invoke({ request: "10 storm lanterns" }, { threadId: "order-42" });
    await graph.invoke({ request: "2 coils of rope" }, { threadId: "order-43" });
    const run = await new Client({ checkpointer }).runs.create(
      "nightly-digest",
      { request: "the nightly digest" },
      { graph: "approval" },
    );
    queuedRun = run.id;
    inspector = await startInspector({ checkpointer, graphs: { approval: graph } });
    readOnly = await startInspector({ checkpointer, readOnly: true });
    browser = await launchChromium();
    browser.context.setDefaultTimeout(10_000);
    page = await browser.context.newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await inspector?.close();
    await readOnly?.close();
    await checkpointer?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  const shoot = async (name: string) => {
    if (shots) await page.screenshot({ path: join(shots, `inspector-${name}.png`) });
  };
  const open = async (hash: string) => {
    await page.goto(`${inspector.url}${hash}`);
  };

  it("lists the threads with their status", async () => {
    await page.goto(`${inspector.url}?token=${inspector.token}`);
    const threads = page.getByTestId("threads");
    await expect.poll(() => threads.locator("tbody tr").count()).toBe(3);
    const row = (id: string) => threads.locator(`tr[data-thread="${id}"]`);
    expect(await row(researchThread).locator(".status").textContent()).toBe("finished");
    expect(await row("order-42").locator(".status").textContent()).toBe("interrupted");
    // The token moved from the address to sessionStorage.
    expect(page.url()).not.toContain("token=");
    await shoot("threads");
    await page.getByTestId("thread-search").fill("order-4");
    await expect.poll(() => threads.locator("tbody tr").count()).toBe(2);
  });

  it("refreshes the thread list by itself while threads progress", async () => {
    await page.getByTestId("thread-search").fill("");
    const row = page.getByTestId("threads").locator('tr[data-thread="order-44"]');
    expect(await row.count()).toBe(0);
    await graph.invoke({ request: "a spare wick" }, { threadId: "order-44" });
    await expect
      .poll(() => row.locator(".status").textContent(), { timeout: 8000 })
      .toBe("interrupted");
    await graph.invoke(new Command({ resume: { approved: false } }), { threadId: "order-44" });
    await expect
      .poll(() => row.locator(".status").textContent(), { timeout: 8000 })
      .toBe("finished");
  });

  it("shows one timeline row per checkpoint", async () => {
    const stored: string[] = [];
    for await (const header of checkpointer.list(researchThread)) stored.push(header.id);
    await open(`#/thread/${researchThread}/timeline`);
    const rows = page.getByTestId("timeline").locator("tbody tr");
    await expect.poll(() => rows.count()).toBe(stored.length);
    const shown = await Promise.all(
      stored.map((_, i) => rows.nth(i).getAttribute("data-checkpoint")),
    );
    expect(shown).toEqual([...stored].reverse());
    expect(await rows.nth(2).textContent()).toContain("fetch → pages ×6");
    await shoot("timeline");
  });

  it("shows the keys a checkpoint changed in its diff", async () => {
    // The superstep that fetched the first batch and planned again.
    const headers = [];
    for await (const header of checkpointer.list(researchThread)) headers.unshift(header);
    const fetched = headers[2]!;
    const loaded = await checkpointer.get(researchThread, { checkpointId: fetched.id });
    const written = [...new Set(loaded!.checkpoint.writes.map((w) => w.channel))]
      .filter((channel) =>
        ["question", "todo", "pages", "summaries", "report", "emailed"].includes(channel),
      )
      .sort();
    expect(written).toEqual(["pages"]);
    await open(`#/thread/${researchThread}/timeline`);
    await page.locator(`tr[data-checkpoint="${fetched.id}"] button.mono`).click();
    const changed = page.getByTestId("changed-keys");
    await expect.poll(() => changed.textContent()).toBe("pages");
    await expect
      .poll(() => page.locator(".entry.changed").first().getAttribute("data-key"))
      .toBe("pages");
    expect(await page.getByTestId("diff").locator("tbody tr").count()).toBe(6);
    await shoot("diff");
  });

  it("lists the fetches with their idempotency keys in the effects ledger", async () => {
    await open(`#/thread/${researchThread}/effects`);
    const fetches = page.getByTestId("effects").locator('tr[data-effect="fetch"]');
    await expect.poll(() => fetches.count()).toBe(PAGES);
    const keys = await fetches.locator("td.key").allTextContents();
    expect(new Set(keys).size).toBe(PAGES);
    for (const key of keys)
      expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const statuses = await fetches.locator(".status").allTextContents();
    expect(new Set(statuses)).toEqual(new Set(["recorded"]));
    expect(await page.locator('tr[data-effect="email"]').count()).toBe(1);
    await shoot("effects");
  });

  it("draws the graph with the waiting node marked", async () => {
    await open("#/thread/order-42/graph");
    await expect
      .poll(() => page.getByTestId("graph").locator("svg").count(), { timeout: 15_000 })
      .toBe(1);
    expect(await page.getByTestId("graph").locator("svg .current").count()).toBe(1);
    await shoot("graph");
  });

  it("answers the interrupt from the page, and the thread finishes", async () => {
    await open("#/thread/order-42/actions");
    const form = page.getByTestId("answer");
    await form.locator("textarea").fill('{"approved": true, "note": "from the page"}');
    await shoot("actions");
    await form.getByRole("button", { name: "Answer" }).click();
    await expect.poll(() => page.getByTestId("answer-message").textContent()).toContain("Done");
    const state = await graph.getState("order-42");
    expect(state!.next).toEqual([]);
    expect(state!.values).toMatchObject({
      outcome: "ordered",
      decision: { note: "from the page" },
    });
    await expect.poll(() => page.getByTestId("thread-status").textContent()).toBe("finished");
  });

  it("forks from an older checkpoint, shown as a branch in the timeline", async () => {
    await open("#/thread/order-42/timeline");
    const rows = page.getByTestId("timeline").locator("tbody tr");
    await expect.poll(() => rows.count()).toBeGreaterThan(2);
    const before = await rows.count();
    const from = await rows.nth(1).getAttribute("data-checkpoint");
    await rows.nth(1).locator('button[data-action="fork"]').click();
    await expect.poll(() => rows.count()).toBe(before + 1);
    // The fork comes after the history it branched from, one level deeper, and is the head.
    const fork = rows.nth(before);
    expect(await fork.textContent()).toContain("↳");
    expect(await fork.textContent()).toContain("head");
    const head = (await graph.getState("order-42"))!;
    expect(head.parentCheckpointId).toBe(from);
    expect(head.metadata.source).toBe("fork");
  });

  it("cancels a queued run from the page", async () => {
    await open("#/runs");
    const row = page.getByTestId("runs").locator(`tr[data-run="${queuedRun}"]`);
    await expect.poll(() => row.getByTestId("run-status").textContent()).toBe("pending");
    await shoot("runs");
    await row.locator('button[data-action="cancel"]').click();
    await expect.poll(() => row.getByTestId("run-status").textContent()).toBe("cancelled");
    expect((await new Client({ checkpointer }).runs.get(queuedRun))!.status).toBe("cancelled");
  });

  it("refuses a write without the token, and writes nothing", async () => {
    const head = (await graph.getState("order-43"))!.checkpointId;
    const fresh = await browser.context.newPage();
    try {
      await fresh.goto(`${inspector.url}#/thread/order-43/actions`);
      expect(await fresh.getByTestId("mode").textContent()).toContain("no token");
      await fresh.getByTestId("answer").getByRole("button", { name: "Answer" }).click();
      await expect
        .poll(() => fresh.getByTestId("answer-message").textContent())
        .toContain("TOKEN_REQUIRED");
    } finally {
      await fresh.close();
    }
    expect((await graph.getState("order-43"))!.checkpointId).toBe(head);
  });

  it("in read-only mode shows no action, and the API refuses writes", async () => {
    await page.goto(`${readOnly.url}#/thread/order-43/timeline`);
    await expect
      .poll(() => page.getByTestId("timeline").locator("tbody tr").count())
      .toBeGreaterThan(0);
    expect(await page.getByTestId("mode").textContent()).toBe("read-only");
    expect(await page.locator('[data-tab="actions"]').count()).toBe(0);
    expect(await page.locator("button[data-action]").count()).toBe(0);
    await page.goto(`${readOnly.url}#/runs`);
    await expect
      .poll(() => page.getByTestId("runs").locator("tbody tr").count())
      .toBeGreaterThan(0);
    expect(await page.locator("button[data-action], form").count()).toBe(0);
    const refused = await page.evaluate(async (token) => {
      const response = await fetch("/api/threads/order-43/resume", {
        method: "POST",
        headers: { "content-type": "application/json", "x-waypoint-token": token },
        body: JSON.stringify({ value: { approved: true } }),
      });
      return { status: response.status, body: await response.json() };
    }, inspector.token);
    expect(refused).toEqual({
      status: 403,
      body: {
        error: { code: "READ_ONLY", message: "The inspector is read-only: it makes no changes." },
      },
    });
    expect((await graph.getState("order-43"))!.next).toEqual(["approve"]);
  });
});
