/**
 * The default chat model: a deterministic, local, extractive summariser, as
 * a LangChain `BaseChatModel`. It answers the last human message with two of
 * its sentences (the first one, and the one densest in the text's own
 * keywords) and streams the answer a couple of words at a time with a small
 * delay, as a hosted model would. So the agent runs offline and gives the same
 * report every time, and a crash can land mid-answer.
 */
import {
  BaseChatModel,
  type BaseChatModelParams,
} from "@langchain/core/language_models/chat_models";
import { AIMessage, AIMessageChunk, type BaseMessage } from "@langchain/core/messages";
import { ChatGenerationChunk, type ChatResult } from "@langchain/core/outputs";
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";

export interface ExtractiveSummariserOptions extends BaseChatModelParams {
  /** Words per streamed chunk (default 2). */
  readonly wordsPerChunk?: number;
  /** Delay before each chunk, in ms (default 25). */
  readonly chunkDelayMs?: number;
}

export class ExtractiveSummariser extends BaseChatModel {
  private readonly wordsPerChunk: number;
  private readonly chunkDelayMs: number;

  constructor(options: ExtractiveSummariserOptions = {}) {
    super(options);
    this.wordsPerChunk = options.wordsPerChunk ?? 2;
    this.chunkDelayMs = options.chunkDelayMs ?? 25;
  }

  _llmType(): string {
    return "extractive-summariser";
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const text = summarise(lastHumanText(messages));
    return { generations: [{ message: new AIMessage(text), text }] };
  }

  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    const words = summarise(lastHumanText(messages)).split(" ");
    for (let start = 0; start < words.length; start += this.wordsPerChunk) {
      await sleep(this.chunkDelayMs, options.signal);
      const text =
        (start === 0 ? "" : " ") + words.slice(start, start + this.wordsPerChunk).join(" ");
      yield new ChatGenerationChunk({ message: new AIMessageChunk({ content: text }), text });
      await runManager?.handleLLMNewToken(text);
    }
  }
}

const STOPWORDS = new Set(
  "a an and are as at be by every for from in is it of on once only or still that the their them they this those to was were what when whenever whether which who with".split(
    " ",
  ),
);

/**
 * The first sentence, then the sentence with the most of the text's five
 * most frequent content words per word, in the order they appear.
 */
export function summarise(text: string): string {
  const sentences = text.match(/[^.!?\s][^.!?]*[.!?]/g)?.map((s) => s.trim()) ?? [];
  if (sentences.length <= 2) return sentences.join(" ");
  const keywords = topWords(text, 5);
  const density = (sentence: string) => {
    const words = wordsOf(sentence);
    return words.filter((word) => keywords.has(word)).length / Math.max(words.length, 1);
  };
  let best = 1;
  for (let index = 2; index < sentences.length; index += 1) {
    if (density(sentences[index]!) > density(sentences[best]!)) best = index;
  }
  return `${sentences[0]} ${sentences[best]}`;
}

function topWords(text: string, count: number): Set<string> {
  const frequency = new Map<string, number>();
  for (const word of wordsOf(text)) {
    if (!STOPWORDS.has(word)) frequency.set(word, (frequency.get(word) ?? 0) + 1);
  }
  const ranked = [...frequency].sort(([a, m], [b, n]) => n - m || a.localeCompare(b));
  return new Set(ranked.slice(0, count).map(([word]) => word));
}

const wordsOf = (text: string) => text.toLowerCase().match(/[a-z][a-z'-]*/g) ?? [];

function lastHumanText(messages: BaseMessage[]): string {
  const human = messages.findLast((message) => message.getType() === "human");
  return human?.text ?? "";
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}
