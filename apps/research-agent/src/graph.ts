/**
 * The research agent, as a Waypoint state graph.
 *
 *   START → plan ⇄ (fetch × 6, summarise × 6) … → plan → writeReport → END
 *
 * `plan` reads the corpus index once, then keeps the to-do list: the pages not
 * summarised yet. After each `plan`, a router sends the next batch of pages to
 * `fetch` and the pages fetched in the last round to `summarise`, all in one
 * superstep (`Send`, one task per page), so the model works on one batch while
 * the next one downloads. When the to-do list is empty, `writeReport` writes
 * the report and emails it.
 *
 * What survives a crash: every superstep is checkpointed, and within one, each
 * task's result is saved as soon as it finishes. Fetches and the email run
 * through `ctx.effect`, so a resumed run never repeats one that was recorded,
 * and passes the same idempotency key to the server when it repeats one that
 * was not. A summary cut off by a crash is salvaged (`ctx.salvage`).
 */
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { Checkpointer } from "@waypoint/checkpoint";
import {
  END,
  START,
  Send,
  StateGraph,
  defineState,
  lastValue,
  reducer,
  type NodeContext,
  type StateOf,
} from "@waypoint/core";
import { chatModelNode } from "@waypoint/langchain";
import type { CorpusClient, Page } from "./services/corpus.js";
import type { MailClient, MailReceipt } from "./services/mail-sink.js";

/** Pages fetched (and summarised) per round. */
export const BATCH_SIZE = 6;
export const REPORT_TO = "research-team@lantern-coast.test";
export const DEFAULT_QUESTION = "What do the Lantern Coast archives say about its old crafts?";

const byId = <T>() =>
  reducer(
    (all: Record<string, T>, more: Record<string, T>) => ({ ...all, ...more }),
    (): Record<string, T> => ({}),
  );

export const ResearchState = defineState({
  question: lastValue<string>(),
  /** The plan, a to-do list: the pages not summarised yet (undefined until `plan` first runs). */
  todo: lastValue<string[]>(),
  /** Page id → the fetched page. */
  pages: byId<Page>(),
  /** Page id → its summary. */
  summaries: byId<string>(),
  report: lastValue<string>(),
  emailed: lastValue<MailReceipt>(),
});
export type ResearchValues = StateOf<typeof ResearchState>;

export interface ResearchServices {
  readonly corpus: CorpusClient;
  readonly model: BaseChatModel;
  readonly mail: MailClient;
}

export function buildResearchAgent(services: ResearchServices, checkpointer: Checkpointer) {
  const { corpus, model, mail } = services;

  async function plan(state: ResearchValues, ctx: NodeContext) {
    if (state.todo !== undefined) {
      return { todo: state.todo.filter((id) => state.summaries[id] === undefined) };
    }
    const index = await ctx.effect("fetch-index", ({ idempotencyKey, signal }) =>
      corpus.index(idempotencyKey, signal),
    );
    return { todo: index.map((page) => page.id) };
  }

  /** After `plan`: summarise what was fetched, fetch the next batch, or finish. */
  function nextRound(state: ResearchValues) {
    const todo = state.todo ?? [];
    if (todo.length === 0) return "writeReport";
    const fetched = todo.filter((id) => state.pages[id] !== undefined);
    const unfetched = todo.filter((id) => state.pages[id] === undefined);
    return [
      ...fetched.map((id) => new Send("summarise", state.pages[id])),
      ...unfetched.slice(0, BATCH_SIZE).map((id) => new Send("fetch", { id })),
    ];
  }

  /** A `Send` task: its input is the payload `{ id }`, not the state. */
  async function fetchPage({ id }: { id: string }, ctx: NodeContext) {
    const page = await ctx.effect("fetch", ({ idempotencyKey, signal }) =>
      corpus.page(id, idempotencyKey, signal),
    );
    return { pages: { [page.id]: page } };
  }

  /** A `Send` task whose input is a fetched page: the chat model streams its summary. */
  async function summarise(page: Page, ctx: NodeContext) {
    const callModel = chatModelNode(model, {
      prefix: [new SystemMessage(`Summarise this page of "${page.title}" in two sentences.`)],
      // Runs when a crash cut off an earlier answer: report the text it had streamed.
      onSalvage: (salvage) => {
        const { text } = salvage.value as { text: string };
        ctx.writer({ salvaged: { pageId: page.id, text } });
      },
    });
    const { messages } = await callModel({ messages: [new HumanMessage(page.text)] }, ctx);
    return { summaries: { [page.id]: messages?.[0]?.text ?? "" } };
  }

  async function writeReportAndEmail(state: ResearchValues, ctx: NodeContext) {
    const text = reportOf(state);
    const emailed = await ctx.effect("email", ({ idempotencyKey, signal }) =>
      mail.send(
        { to: REPORT_TO, subject: `Research report: ${state.question}`, body: text },
        idempotencyKey,
        signal,
      ),
    );
    return { report: text, emailed };
  }

  return new StateGraph(ResearchState)
    .addNode("plan", plan)
    .addNode("fetch", fetchPage, { retry: { maxAttempts: 3 } })
    .addNode("summarise", summarise)
    .addNode("writeReport", writeReportAndEmail)
    .addEdge(START, "plan")
    .addConditionalEdges("plan", nextRound, ["fetch", "summarise", "writeReport"])
    .addEdge("fetch", "plan")
    .addEdge("summarise", "plan")
    .addEdge("writeReport", END)
    .compile({ checkpointer, name: "research-agent" });
}

export type ResearchAgent = ReturnType<typeof buildResearchAgent>;

/** Supersteps a run over `pages` pages takes: two per round, plus the last summaries and the report. */
export const stepsFor = (pages: number) => 2 * Math.ceil(pages / BATCH_SIZE) + 4;

/** The report: a pure function of the state, so a resumed run writes the same one. */
export function reportOf(state: ResearchValues): string {
  const pages = Object.values(state.pages).sort((a, b) => a.id.localeCompare(b.id));
  const topics = [...new Set(pages.map((page) => page.topic))].sort((a, b) =>
    a.localeCompare(b, "en", { sensitivity: "base" }),
  );
  const lines = [
    `Research report: ${state.question}`,
    `${pages.length} pages read on ${topics.length} topics; one summary per page.`,
  ];
  for (const topic of topics) {
    const read = pages.filter((page) => page.topic === topic);
    const heading = topic.charAt(0).toUpperCase() + topic.slice(1);
    lines.push("", `## ${heading} (${read.length} ${read.length === 1 ? "page" : "pages"})`);
    for (const page of read) lines.push(`- ${page.id}: ${state.summaries[page.id] ?? "(none)"}`);
  }
  return lines.join("\n");
}
