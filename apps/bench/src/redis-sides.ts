import type { Redis } from "ioredis";
import { MemoryCheckpointer, type CheckpointHeader, type PutRequest } from "@waypoint/checkpoint";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";
import { SideProcess, type RemoteRunner } from "./side-process.js";
import { floorLoop, waypointRunner, type Runner, type Shape } from "./workloads.js";

/**
 * The sides of the Redis suite (redis.ts): what each writes per superstep and
 * how a new instance reloads it.
 *
 * The floor is what a minimal durable app would do: one `SET` per superstep
 * of a key `floor:<thread>:<step>` holding that superstep's writes as JSON,
 * plus one for each invocation's input step (its writes `[]`), as both the
 * Postgres floor and Waypoint do. It keeps no index: its reload is one MGET
 * of the keys it is told the thread has, which favours it.
 */
export interface Side {
  readonly name: string;
  /** A side in another process answers with a RemoteRunner: the caller closes it. */
  open(redis: Redis, shape: Shape): Runner | Promise<Runner | RemoteRunner>;
}

export const floor: Side = {
  name: "floor",
  open(redis, shape) {
    const loop = floorLoop(shape, async (threadId, step, data) => {
      await redis.set(`floor:${threadId}:${step}`, data);
    });
    return {
      run: (threadId) => loop.run(threadId),
      // A new instance is told the key count: one invocation of the shape.
      async load(threadId) {
        const keys = Array.from(
          { length: loop.steps(threadId) },
          (_, step) => `floor:${threadId}:${step}`,
        );
        const values = await redis.mget(keys);
        return values.flatMap((data) => {
          if (data === null) throw new Error(`floor: a key of ${threadId} is missing`);
          return (JSON.parse(data) as { value: string }[]).map((w) => w.value);
        });
      },
    };
  },
};

/**
 * The floor's writes made atomic in the least way the Build section
 * allows (one Lua script per write, a head checked and moved in it, an index
 * kept as a sorted set, every key in the thread's hash slot): GET the head,
 * HSET the step into the thread's hash, ZADD it to the thread's index, SET the
 * head. No runtime, no checkpoint format: the floor's JSON. A reference for
 * what the atomicity costs Redis, not a target.
 */
const SCRIPT_PUT = `
  local head = redis.call('GET', KEYS[1]) or ''
  if head ~= ARGV[1] then return 0 end
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  redis.call('ZADD', KEYS[3], 0, ARGV[2])
  redis.call('SET', KEYS[1], ARGV[2])
  return 1`;

/** floor+script's write, and the keys and step ids its reload reads. */
function scriptWriter(redis: Redis) {
  const keys = (threadId: string) => {
    const tag = `{script:${threadId}}`;
    return [`${tag}:head`, `${tag}:steps`, `${tag}:index`] as const;
  };
  const stepId = (step: number) => String(step).padStart(6, "0");
  // EVALSHA, as Waypoint's scripts go (ioredis loads the script on first use).
  redis.defineCommand("floorScriptPut", { numberOfKeys: 3, lua: SCRIPT_PUT });
  const put3 = (
    redis as unknown as Record<string, (...args: string[]) => Promise<unknown>>
  ).floorScriptPut!.bind(redis);
  return {
    keys,
    stepId,
    write: async (threadId: string, step: number, data: string): Promise<void> => {
      const expected = step === 0 ? "" : stepId(step - 1);
      const written = await put3(...keys(threadId), expected, stepId(step), data);
      if (written !== 1) throw new Error(`floor+script: the head of ${threadId} moved`);
    },
  };
}

const scriptFloor: Side = {
  name: "floor+script",
  open(redis, shape) {
    const { keys, stepId, write } = scriptWriter(redis);
    const loop = floorLoop(shape, write);
    return {
      run: (threadId) => loop.run(threadId),
      // As the floor: told how many steps the thread has.
      async load(threadId) {
        const ids = Array.from({ length: loop.steps(threadId) }, (_, step) => stepId(step));
        const values = await redis.hmget(keys(threadId)[1], ...ids);
        return values.flatMap((data) => {
          if (data === null) throw new Error(`floor+script: a step of ${threadId} is missing`);
          return (JSON.parse(data) as { value: string }[]).map((w) => w.value);
        });
      },
    };
  },
};

/**
 * Waypoint's runtime with the least any Redis checkpointer under it could
 * cost: the graph keeps its checkpoints in memory, and each checkpoint also
 * makes floor+script's write (its writes as JSON). Not a store (no other
 * process could resume from it): a reference that tells what the runtime
 * costs on top of the required atomicity, in (a) and (c).
 */
class ScriptedMemoryCheckpointer extends MemoryCheckpointer {
  constructor(
    private readonly write: (threadId: string, step: number, data: string) => Promise<void>,
  ) {
    super();
  }

  override async put(request: PutRequest): Promise<CheckpointHeader> {
    const header = await super.put(request);
    const { threadId, step, writes } = request.checkpoint;
    // Steps start at -1 (the first input); floor+script's ids at 0.
    await this.write(threadId, step + 1, JSON.stringify(writes));
    return header;
  }
}

const runtimeScript: Side = {
  name: "runtime+script",
  open(redis, shape) {
    return waypointRunner(shape, new ScriptedMemoryCheckpointer(scriptWriter(redis).write));
  },
};

export const waypoint: Side = {
  name: "waypoint",
  open(redis, shape) {
    const checkpointer = new RedisCheckpointer({ redis });
    return waypointRunner(shape, checkpointer);
  },
};

/**
 * LangGraph.js on WaypointSaver over a RedisCheckpointer (issue 23), in a
 * child process of its own that connects to the same server.
 */
export const langGraphSaverProcess = new SideProcess(
  "./langgraph-redis.js",
  "openLangGraphWaypointSaverRedis",
);
export const langGraphSaver: Side = {
  name: "langgraph+WaypointSaver",
  open: (redis, shape) =>
    langGraphSaverProcess.open(`redis://${redis.options.host}:${redis.options.port}`, 1, "", shape),
};

export const SIDES = [floor, scriptFloor, waypoint, langGraphSaver] as const;
/** (a) and (c) add the runtime's reference; it stores nothing another instance could load, for (d). */
export const TIME_SIDES = [floor, scriptFloor, runtimeScript, waypoint, langGraphSaver] as const;
/** The 2,000-step thread: the storage sides (LangGraph.js's runtime would only add its own time). */
export const LONG_SIDES = [floor, scriptFloor, waypoint] as const;
