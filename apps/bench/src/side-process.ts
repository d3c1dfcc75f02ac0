import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";
import { stamps, type Runner, type Shape } from "./workloads.js";

/**
 * A benchmark side run in a child process of its own. LangGraph.js's side
 * spends 8 to 20 times the others' CPU per superstep and enables its
 * AsyncLocalStorage: sharing the suite's process, the collection of its
 * garbage landed in the next side's run (a floor run right after it used
 * 3 to 4 times its usual CPU). In a process of its own it taxes nobody, as
 * in an application that runs one runtime. The floor and Waypoint stay in
 * the suite's process: no message passing in their timings.
 *
 * The parent sends one message per call; the child answers with the
 * result, its supersteps' start times (on the parent's clock) and its CPU.
 */

/** The sides a child process can open, by name, each from a pool it creates itself. */
export type SideOpener = (pool: pg.Pool, schema: string, shape: Shape) => Promise<Runner>;
/** A Redis side's opener: its URL is a `redis://` one, and the child connects a client of its own. */
export type RedisSideOpener = (redis: Redis, shape: Shape) => Promise<Runner>;

type Request =
  | { id: number; op: "open"; url: string; poolSize: number; schema: string; shape: Shape }
  | { id: number; op: "run"; handle: number; threadId: string; newThread: boolean }
  | { id: number; op: "load"; handle: number; threadId: string }
  | { id: number; op: "close"; handle: number };

type Reply =
  | { id: number; ok: true; value: unknown; stamps: number[]; cpuMs: number }
  | { id: number; ok: false; error: string };

/** CPU time of this process so far, in ms. */
export function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** A runner whose work happens in another process reports that process's CPU. */
export interface RemoteRunner extends Runner {
  /** CPU time of the process the runner works in, as of its last answer, in ms. */
  cpuMs(): number;
  close(): Promise<void>;
}

/** The parent's end: one child process for `opener`, started on first use, stopped by `stop()`. */
export class SideProcess {
  private child: ChildProcess | undefined;
  private nextId = 0;
  private readonly waiting = new Map<number, (reply: Reply) => void>();
  private lastCpuMs = 0;

  constructor(
    private readonly module: string,
    private readonly opener: string,
  ) {}

  async open(url: string, poolSize: number, schema: string, shape: Shape): Promise<RemoteRunner> {
    const handle = (await this.call({ op: "open", url, poolSize, schema, shape })) as number;
    return {
      run: async (threadId, { newThread = false } = {}) =>
        (await this.call({ op: "run", handle, threadId, newThread })) as string[],
      load: async (threadId) => (await this.call({ op: "load", handle, threadId })) as string[],
      cpuMs: () => this.lastCpuMs,
      close: async () => {
        await this.call({ op: "close", handle });
      },
    };
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }

  private start(): ChildProcess {
    // The child runs this file under the same loader (tsx) as the suite.
    const child = fork(fileURLToPath(import.meta.url), [this.module, this.opener], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    child.on("message", (reply: Reply) => {
      const settle = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      settle?.(reply);
    });
    // A send to a child that died errs here; its "exit" settles what waits.
    child.on("error", () => undefined);
    child.on("exit", (code, signal) => {
      for (const settle of this.waiting.values()) {
        settle({ id: -1, ok: false, error: `side process exited (${signal ?? code})` });
      }
      this.waiting.clear();
      if (this.child === child) this.child = undefined;
    });
    return child;
  }

  private call(request: DistributiveOmit<Request, "id">): Promise<unknown> {
    this.child ??= this.start();
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (reply) => {
        if (!reply.ok) {
          reject(new Error(reply.error));
          return;
        }
        // The child's supersteps, on this process's clock.
        for (const stamp of reply.stamps) stamps.push(stamp - performance.timeOrigin);
        this.lastCpuMs = reply.cpuMs;
        resolve(reply.value);
      });
      this.child!.send({ ...request, id });
    });
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The child's end: opens runners with the named opener and answers the parent's calls. */
async function serve(module: string, name: string): Promise<void> {
  const opened = (await import(new URL(module, import.meta.url).href)) as Record<
    string,
    SideOpener | undefined
  >;
  const opener = opened[name];
  if (opener === undefined) throw new Error(`${module} exports no side opener ${name}`);
  const runners = new Map<number, { runner: Runner; close: () => Promise<void> }>();
  let nextHandle = 0;
  const answer = async (request: Request): Promise<unknown> => {
    switch (request.op) {
      case "open": {
        if (request.url.startsWith("redis:")) {
          const redis = new Redis(request.url);
          const runner = await (opener as unknown as RedisSideOpener)(redis, request.shape);
          runners.set(++nextHandle, { runner, close: async () => redis.disconnect() });
          return nextHandle;
        }
        const pool = new pg.Pool({ connectionString: request.url, max: request.poolSize });
        pool.on("error", () => undefined);
        const runner = await opener(pool, request.schema, request.shape);
        runners.set(++nextHandle, { runner, close: () => pool.end() });
        return nextHandle;
      }
      case "run":
        return runners.get(request.handle)!.runner.run(request.threadId, {
          newThread: request.newThread,
        });
      case "load":
        return runners.get(request.handle)!.runner.load(request.threadId);
      case "close": {
        const { close } = runners.get(request.handle)!;
        runners.delete(request.handle);
        await close();
        return null;
      }
    }
  };
  // The suite gone (finished or killed): nothing left to answer.
  process.on("disconnect", () => process.exit(0));
  process.on("message", (request: Request) => {
    stamps.length = 0;
    answer(request).then(
      (value) => {
        const reply: Reply = {
          id: request.id,
          ok: true,
          value,
          stamps: stamps.map((stamp) => stamp + performance.timeOrigin),
          cpuMs: processCpuMs(),
        };
        process.send!(reply);
      },
      (error: unknown) => {
        const reply: Reply = { id: request.id, ok: false, error: String(error) };
        process.send!(reply);
      },
    );
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send !== undefined) {
  await serve(process.argv[2]!, process.argv[3]!);
}
