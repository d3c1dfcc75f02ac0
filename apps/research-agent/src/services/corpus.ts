/**
 * The pages the agent reads: a generated corpus about made-up crafts of a
 * made-up coast, served over HTTP on 127.0.0.1 with some latency. Every page
 * depends only on its id (seeded pseudo-random text), so any two servers
 * serve the same page the same way, and a bigger corpus extends a smaller one.
 *
 * The server counts requests per page and per idempotency key, so a test can
 * check that a killed and resumed agent fetched each page once.
 */
import { createServer } from "node:http";
import { close, listen } from "./http-server.js";

/** A line of the corpus index: what the planner sees before fetching. */
export interface PageRef {
  readonly id: string;
  readonly title: string;
  readonly topic: string;
}

export interface Page extends PageRef {
  /** Relative, so that it does not depend on the server's port. */
  readonly path: string;
  readonly text: string;
}

/** What the agent's nodes call. Each call takes the effect's idempotency key. */
export interface CorpusClient {
  index(idempotencyKey: string, signal: AbortSignal): Promise<PageRef[]>;
  page(id: string, idempotencyKey: string, signal: AbortSignal): Promise<Page>;
}

export interface FetchStats {
  /** Page id → requests received, and the distinct idempotency keys among them. */
  readonly pages: ReadonlyMap<string, { requests: number; keys: ReadonlySet<string> }>;
  readonly indexRequests: number;
}

export interface CorpusServer {
  readonly url: string;
  readonly pageCount: number;
  stats(): FetchStats;
  close(): Promise<void>;
}

const TOPICS = [
  { name: "Velmora tide engines", terms: ["tide", "flywheel", "brine", "engine", "sluice"] },
  { name: "glassweed farming", terms: ["glassweed", "shoal", "harvest", "frond", "lagoon"] },
  { name: "Quorra bell towers", terms: ["bell", "tower", "chime", "bronze", "ringer"] },
  { name: "salt-lichen dyes", terms: ["lichen", "dye", "salt", "vat", "indigo"] },
  { name: "Ostrel kite couriers", terms: ["kite", "courier", "updraft", "tether", "parcel"] },
  { name: "ember-moth apiaries", terms: ["moth", "ember", "hive", "wax", "keeper"] },
  { name: "the Drowned Library of Pell", terms: ["library", "scroll", "diver", "vault", "ink"] },
  { name: "fogwright guilds", terms: ["fog", "guild", "lantern", "horn", "wright"] },
] as const;

const ASPECTS = [
  "field notes",
  "failure reports",
  "trade ledgers",
  "letters",
  "survey notes",
  "guild minutes",
  "travellers' accounts",
  "court records",
];
const PLACES = ["Harrowmere", "Pell", "Ostrel", "the Saltmarch", "Cindervale", "Low Quorra"];
const VERBS = ["shifts", "falters", "thrives", "hums", "weakens", "recovers", "spreads"];
const QUALIFIERS = [
  "after the spring storms",
  "in the colder months",
  "whenever the wind turns east",
  "under a full moon",
  "near the old breakwater",
  "only in dry years",
];
const YEARS = ["1712", "1748", "1781", "1803", "1829", "1856"];
const FILLER = [
  "Little else survives from that period.",
  "The ledgers from those years are incomplete.",
  "Local accounts vary on the details.",
  "Travellers rarely stayed long enough to notice.",
  "Nobody wrote down what happened next.",
];

/** A page's text and title: a pure function of its id. */
export function generatePage(id: string): Page {
  const random = seededRandom(id);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const topic = pick(TOPICS);
  const aspect = pick(ASPECTS);
  /** `count` different terms of the topic. */
  const terms = (count: number) => {
    const left: string[] = [...topic.terms];
    return Array.from(
      { length: count },
      () => left.splice(Math.floor(random() * left.length), 1)[0]!,
    );
  };
  const sentences = [
    () => `The ${terms(1)[0]} of ${topic.name} ${pick(VERBS)} ${pick(QUALIFIERS)}.`,
    () => {
      const [a, b] = terms(2);
      return `Observers in ${pick(PLACES)} recorded that every ${a} ${pick(VERBS)} when the ${b} ${pick(VERBS)}.`;
    },
    () => {
      const [a, b, c] = terms(3);
      return `One ${a} catalogued in ${pick(YEARS)} suggests that the ${b} and the ${c} were once the same craft.`;
    },
    () => `${pick(PLACES)} still argues about whether the ${terms(1)[0]} ${pick(VERBS)} at all.`,
    () => pick(FILLER),
    () => `Most of the ${terms(1)[0]} trade moved to ${pick(PLACES)} by ${pick(YEARS)}.`,
  ];
  const lead = `${capitalise(aspect)} on ${topic.name} come mostly from ${pick(PLACES)}, where the ${terms(1)[0]} ${pick(VERBS)} ${pick(QUALIFIERS)}.`;
  const paragraphs = Array.from({ length: 3 + Math.floor(random() * 2) }, () =>
    Array.from({ length: 3 + Math.floor(random() * 3) }, () => pick(sentences)()).join(" "),
  );
  return {
    id,
    title: `${capitalise(topic.name)}: ${aspect}`,
    topic: topic.name,
    path: `/pages/${id}`,
    text: `${lead} ${paragraphs.join("\n\n")}`,
  };
}

export const pageId = (index: number) => `page-${String(index + 1).padStart(3, "0")}`;

/** Between 20 and 80 ms, always the same for a page. */
export const latencyOf = (id: string) => 20 + Math.floor(seededRandom(`latency:${id}`)() * 61);

/** Serves `GET /index` and `GET /pages/<id>` on 127.0.0.1, on a free port. */
export async function startCorpusServer({ pages }: { pages: number }): Promise<CorpusServer> {
  const ids = Array.from({ length: pages }, (_, index) => pageId(index));
  const known = new Set(ids);
  const counts = new Map<string, { requests: number; keys: Set<string> }>();
  let indexRequests = 0;

  const server = createServer((request, response) => {
    const key = request.headers["idempotency-key"];
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (request.url === "/index") {
      indexRequests += 1;
      const refs = ids
        .map((id) => generatePage(id))
        .map(({ id, title, topic }) => ({ id, title, topic }));
      return send(200, refs);
    }
    const id = /^\/pages\/([\w-]+)$/.exec(request.url ?? "")?.[1];
    if (id === undefined || !known.has(id)) return send(404, { error: "no such page" });
    const count = counts.get(id) ?? { requests: 0, keys: new Set<string>() };
    counts.set(id, count);
    count.requests += 1;
    if (typeof key === "string") count.keys.add(key);
    setTimeout(() => send(200, generatePage(id)), latencyOf(id));
  });
  const url = await listen(server);
  return {
    url,
    pageCount: pages,
    stats: () => ({ pages: counts, indexRequests }),
    close: () => close(server),
  };
}

/** The agent's side: plain `fetch` calls that pass the effect's idempotency key on. */
export function corpusClient(baseUrl: string): CorpusClient {
  const get = async <T>(path: string, idempotencyKey: string, signal: AbortSignal) => {
    const response = await fetch(new URL(path, baseUrl), {
      headers: { "idempotency-key": idempotencyKey },
      signal,
    });
    if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`);
    return (await response.json()) as T;
  };
  return {
    index: (key, signal) => get<PageRef[]>("/index", key, signal),
    page: (id, key, signal) => get<Page>(`/pages/${id}`, key, signal),
  };
}

/** mulberry32, seeded with a hash of the text: the same text, the same sequence. */
function seededRandom(text: string): () => number {
  let seed = 2166136261;
  for (const char of text) seed = Math.imul(seed ^ char.charCodeAt(0), 16777619);
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
