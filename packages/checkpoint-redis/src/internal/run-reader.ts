import {
  LeaseLostError,
  type Fence,
  type ListRunsOptions,
  type RunRecord,
} from "@waypoint/checkpoint";
import { checkFence, resolveListRuns } from "@waypoint/checkpoint/backend";
import type { RedisAccess, Values } from "./run-access.js";
import { RUN_FIELDS, decodeRun } from "./run-records.js";

/** Runs per page of a listing. */
const PAGE = 200;

/**
 * How the run store reads runs: a run's record, which thread it is in (from
 * the run index, cached: it never changes), and pages of the listings.
 */
export class RunReader {
  /** Run id → thread id, which never changes: saves the index lookup for a run's later calls. */
  private readonly threads = new Map<string, string>();

  constructor(private readonly access: RedisAccess) {}

  /** Remembers a run's thread (on create and claim). */
  remember(runId: string, threadId: string): void {
    this.threads.set(runId, threadId);
  }

  /** Forgets a deleted run. */
  forget(runId: string): void {
    this.threads.delete(runId);
  }

  async threadOf(runId: string): Promise<string | undefined> {
    const known = this.threads.get(runId);
    if (known !== undefined) return known;
    const { keys, redis } = this.access;
    const [member] = await this.access.run("runs.get", () =>
      redis.zrangebylex(keys.runIndex(), `[${runId}\u0000`, `(${runId}\u0001`, "LIMIT", 0, 1),
    );
    if (member === undefined) return undefined;
    const threadId = member.slice(runId.length + 1);
    if (this.threads.size >= 10_000) this.threads.clear();
    this.threads.set(runId, threadId);
    return threadId;
  }

  async threadOfFence(fence: Fence): Promise<string> {
    checkFence(fence);
    const threadId = await this.threadOf(fence.runId);
    if (threadId === undefined) {
      throw new LeaseLostError(fence.runId, fence.token, "there is no such run");
    }
    return threadId;
  }

  values(runKey: string): Promise<Values> {
    return this.access.run("runs.get", () => this.access.redis.hmget(runKey, ...RUN_FIELDS));
  }

  decode(values: readonly (string | null)[], runId: string): RunRecord {
    return decodeRun(values, runId, this.access.serializer);
  }

  async list(options: ListRunsOptions): Promise<readonly RunRecord[]> {
    const { threadId, statuses, limit, ...resolved } = resolveListRuns(options);
    const found: RunRecord[] = [];
    let before = resolved.before ?? "";
    while (found.length < limit) {
      const page =
        threadId === undefined
          ? await this.globalPage(before, statuses)
          : await this.threadPage(threadId, before, statuses);
      found.push(...page.runs.slice(0, limit - found.length));
      if (page.last === "") break;
      before = page.last;
    }
    return found;
  }

  private async threadPage(
    threadId: string,
    before: string,
    statuses: readonly string[] | undefined,
  ): Promise<{ runs: RunRecord[]; last: string }> {
    const { keys } = this.access;
    const [last, ...records] = (await this.access.run("runs.list", () =>
      this.access.script(
        "wpRunPage",
        [keys.threadRuns(threadId)],
        [keys.tag(threadId), before, PAGE, statuses?.join(" ") ?? ""],
      ),
    )) as [string, ...Values[]];
    return { runs: records.map((values) => this.decode(values, values[0] ?? "?")), last };
  }

  private async globalPage(
    before: string,
    statuses: readonly string[] | undefined,
  ): Promise<{ runs: RunRecord[]; last: string }> {
    const { keys, redis } = this.access;
    const members = await this.access.run("runs.list", () =>
      redis.zrevrangebylex(
        keys.runIndex(),
        before === "" ? "+" : `(${before}`,
        "-",
        "LIMIT",
        0,
        PAGE,
      ),
    );
    const pairs = members.map((member) => member.split("\u0000") as [string, string]);
    const stored = await Promise.all(
      pairs.map(([runId, threadId]) => this.values(keys.run(threadId, runId))),
    );
    const runs = stored.flatMap((values, index) => {
      // An indexed run without a record: its create has not finished (or never will).
      if (values[0] === null) return [];
      const run = this.decode(values, pairs[index]![0]);
      return statuses === undefined || statuses.includes(run.status) ? [run] : [];
    });
    return { runs, last: members.length < PAGE ? "" : pairs[pairs.length - 1]![0] };
  }
}
