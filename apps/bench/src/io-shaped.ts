import { spawn, type ChildProcess } from "node:child_process";
import { type Socket, connect } from "node:net";
import { MemorySaver } from "@langchain/langgraph";
import { MemoryCheckpointer, type CheckpointHeader, type PutRequest } from "@waypoint/checkpoint";
import { langGraphChain } from "./langgraph-chain.js";
import { median } from "./measure.js";
import {
  INVOCATIONS,
  NODES,
  STEPS,
  expectChainLog,
  runChain,
  waypointChain,
  type Invoke,
} from "./memory-chain.js";

/**
 * The I/O-shaped run (issue 22): the in-memory chain on stores whose every
 * put first awaits a real round trip: one byte over a loopback TCP socket to
 * another process, which echoes it. The runtime's code then runs between
 * I/O waits, as on a real store, not in a tight loop. Both sides' puts wait
 * alike (LangGraph's putWrites do not wait); the floor is the round trips
 * alone, one per put: 11 per invocation (its input step and 10 nodes).
 */
const ECHO_SERVER = `
  const net = require("node:net");
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on("data", (data) => socket.write(data));
  });
  server.listen(0, "127.0.0.1", () => console.log(server.address().port));
  process.stdin.on("end", () => process.exit(0));
  process.stdin.resume();`;

/** One byte out, the same byte back: the round trip every put awaits. */
class Loopback {
  private readonly waiting: (() => void)[] = [];
  private static readonly BYTE = Buffer.from("x");

  constructor(private readonly socket: Socket) {
    socket.on("data", (data) => {
      for (let i = 0; i < data.length; i += 1) this.waiting.shift()?.();
    });
  }

  roundTrip(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.socket.write(Loopback.BYTE);
    });
  }
}

/** The echo server in a process of its own, and a connection to it. */
async function startEcho(): Promise<{ link: Loopback; stop: () => void }> {
  const child: ChildProcess = spawn(process.execPath, ["-e", ECHO_SERVER], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.stdout!.once("data", (data: Buffer) => resolve(Number(String(data).trim())));
  });
  const socket = connect({ port, host: "127.0.0.1", noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return {
    link: new Loopback(socket),
    stop: () => {
      socket.destroy();
      child.stdin!.end();
    },
  };
}

class RoundTripCheckpointer extends MemoryCheckpointer {
  constructor(private readonly link: Loopback) {
    super();
  }

  override async put(request: PutRequest): Promise<CheckpointHeader> {
    await this.link.roundTrip();
    return super.put(request);
  }
}

class RoundTripSaver extends MemorySaver {
  constructor(private readonly link: Loopback) {
    super();
  }

  override async put(...args: Parameters<MemorySaver["put"]>): ReturnType<MemorySaver["put"]> {
    await this.link.roundTrip();
    return super.put(...args);
  }
}

type SideName = "floor" | "waypoint" | "langgraph";

export interface IoShapedResult {
  /** Per side: wall ms and this process's CPU ms per node superstep (medians). */
  readonly ms: Record<SideName, number>;
  readonly cpuMs: Record<SideName, number>;
}

const WARM_UP_RUNS = 5;

export async function ioShapedRun(rounds: number): Promise<IoShapedResult> {
  const { link, stop } = await startEcho();
  try {
    const floorRun = async () => {
      for (let i = 0; i < INVOCATIONS * (NODES + 1); i += 1) await link.roundTrip();
    };
    // A fresh graph and store per run, on a new thread, as the tight loop does.
    const chainRun = (name: string, create: () => Invoke) => async () =>
      expectChainLog(name, await runChain(create(), "measured"));
    const sides: { name: SideName; run: () => Promise<void>; ms: number[]; cpuMs: number[] }[] = [
      { name: "floor", run: floorRun, ms: [], cpuMs: [] },
      {
        name: "waypoint",
        run: chainRun("Waypoint", () => waypointChain(new RoundTripCheckpointer(link))),
        ms: [],
        cpuMs: [],
      },
      {
        name: "langgraph",
        run: chainRun("LangGraph", () => langGraphChain(new RoundTripSaver(link))),
        ms: [],
        cpuMs: [],
      },
    ];
    for (const side of sides) for (let i = 0; i < WARM_UP_RUNS; i += 1) await side.run();
    for (let round = 0; round < rounds; round += 1) {
      for (let i = 0; i < sides.length; i += 1) {
        const side = sides[(round + i) % sides.length]!;
        const cpu = process.cpuUsage();
        const start = performance.now();
        await side.run();
        side.ms.push((performance.now() - start) / STEPS);
        const { user, system } = process.cpuUsage(cpu);
        side.cpuMs.push((user + system) / 1000 / STEPS);
      }
    }
    const of = (figure: "ms" | "cpuMs") =>
      Object.fromEntries(sides.map((side) => [side.name, median(side[figure])])) as Record<
        SideName,
        number
      >;
    return { ms: of("ms"), cpuMs: of("cpuMs") };
  } finally {
    stop();
  }
}
