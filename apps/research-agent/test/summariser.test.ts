import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { describe, expect, it } from "vitest";
import { generatePage } from "../src/services/corpus.js";
import { ExtractiveSummariser, summarise } from "../src/services/summariser.js";

const page = generatePage("page-007");
const ask = [new SystemMessage("Summarise this page."), new HumanMessage(page.text)];

describe("the local extractive summariser", () => {
  it("answers with the page's first sentence and one more of its sentences", () => {
    const summary = summarise(page.text);
    const sentences = page.text.match(/[^.!?\s][^.!?]*[.!?]/g)!.map((s) => s.trim());
    expect(summary.startsWith(sentences[0]!)).toBe(true);
    const second = summary.slice(sentences[0]!.length + 1);
    expect(sentences.slice(1)).toContain(second);
  });

  it("is deterministic: two models, streamed or not, give the same text", async () => {
    const fast = { chunkDelayMs: 0 };
    const invoked = await new ExtractiveSummariser(fast).invoke(ask);
    const chunks: string[] = [];
    for await (const chunk of await new ExtractiveSummariser(fast).stream(ask))
      chunks.push(chunk.text);
    expect(chunks.length).toBeGreaterThan(5); // small chunks, for partial output
    expect(chunks.join("")).toBe(invoked.text);
    expect(invoked.text).toBe(summarise(generatePage("page-007").text));
  });
});
