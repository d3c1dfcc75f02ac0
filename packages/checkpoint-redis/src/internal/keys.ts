/**
 * Key layout. Every key of a thread starts with the hash tag
 * `{<prefix>:<t>}`, where `<t>` is the thread id with `{` written `{(` and `}`
 * written `{)` (threadTag below): the tag ends at the first `}`, as Redis
 * Cluster reads it, so a thread keeps one slot of its own and each script
 * touches one slot. Ids without braces keep the keys they always had; before
 * this encoding, a thread id holding `}` could spell another thread's keys
 * (issue 17), and such threads are not found under it.
 * After the tag, namespaces are length-prefixed (byte length) and checkpoint
 * and run ids come last, so within a thread no (namespace, id) can spell
 * another's key either.
 *
 *   {p:t}:head:<ns>          the namespace's head checkpoint id (earlier versions added a NUL and
 *                            the head's base id; read as the id)
 *   {p:t}:cps:<ns>           hash: h:<id> header, p:<id> delta, s:<id> snapshot (records.ts)
 *   {p:t}:idx:<ns>           sorted set of checkpoint ids (ordered by id)
 *   {p:t}:pw:<ns>:<id>       hash of a checkpoint's pending writes, by task and idx
 *   {p:t}:nss                set of the thread's namespaces
 *   {p:t}:pwk                set of the thread's pending-writes keys (for expiry)
 *   {p:t}:run:<runId>        hash: a run's record (run-records.ts)
 *   {p:t}:runs               sorted set of the thread's run ids (ids are time-ordered: creation order)
 *   {p:t}:active             sorted set of its pending, running and paused run ids; the first holds the thread
 *   {p}:threads              sorted set of thread ids (its own slot)
 *   {p}:expiring             sorted set of the ids of threads with a TTL, scored by when to look
 *                            whether they expired (sweep() takes expired ones off {p}:threads)
 *   {p}:runs                 sorted set of "<runId> NUL <threadId>": finds a run's thread, lists runs, prune walks it
 *   {p}:runs:queue           stream of "run <runId> may be claimable", read by the consumer group "workers"
 *
 * The `{p}` keys share one slot, so a run's queue entry and its index entry are
 * written by one script.
 */
export class Keys {
  constructor(private readonly prefix: string) {}

  threads(): string {
    return `{${this.prefix}}:threads`;
  }

  expiring(): string {
    return `{${this.prefix}}:expiring`;
  }

  runIndex(): string {
    return `{${this.prefix}}:runs`;
  }

  queue(): string {
    return `{${this.prefix}}:runs:queue`;
  }

  run(threadId: string, runId: string): string {
    return `${this.tag(threadId)}:run:${runId}`;
  }

  threadRuns(threadId: string): string {
    return `${this.tag(threadId)}:runs`;
  }

  activeRuns(threadId: string): string {
    return `${this.tag(threadId)}:active`;
  }

  namespaces(threadId: string): string {
    return `${this.tag(threadId)}:nss`;
  }

  /** The thread's hash tag, which every key of the thread starts with. */
  tag(threadId: string): string {
    return `{${this.prefix}:${threadTag(threadId)}}`;
  }

  of(threadId: string, namespace: string) {
    // Byte length, as Lua's string.len counts it when a script builds the same keys.
    const base = `${this.tag(threadId)}:${Buffer.byteLength(namespace)}:${namespace}`;
    return { head: `${base}:head`, cps: `${base}:cps`, idx: `${base}:idx`, pw: `${base}:pw:` };
  }
}

/**
 * A thread id as its hash tag holds it: `{` becomes `{(` and `}` becomes `{)`,
 * every other character stays. No `}` is left to end the tag early, and since
 * every `{` of the result starts a pair, two ids never give one tag.
 */
export function threadTag(threadId: string): string {
  if (!threadId.includes("{") && !threadId.includes("}")) return threadId;
  return threadId.replace(/[{}]/g, (brace) => (brace === "{" ? "{(" : "{)"));
}
