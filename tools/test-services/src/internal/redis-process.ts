import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { PortInUseError } from "./port-collision.js";

const startTimeoutMs = 30_000;

/** Spawns `redis-server` in the foreground and resolves once it answers PING. */
export async function spawnRedis(port: number, args: readonly string[]): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Keep draining the output (a full pipe would block the server); the tail explains failures.
  let output = "";
  const keep = (chunk: Buffer) => (output = (output + chunk.toString("utf8")).slice(-8_000));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);

  // once() rejects on 'error', which is how a missing binary (ENOENT) shows up.
  const closed = once(child, "close").then(() => "closed" as const);
  const pinging = new AbortController();
  try {
    const first = await Promise.race([
      waitForPong(port, pinging.signal).then(() => "ready" as const),
      closed,
    ]);
    if (first === "ready") return child;
    if (output.includes("Address already in use")) throw new PortInUseError(port, output);
    throw new Error(
      `redis-server exited during start (${child.exitCode ?? child.signalCode}):\n${output}`,
    );
  } catch (error) {
    child.kill("SIGKILL");
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      const hint = "run `bash scripts/setup.sh --services` to install it";
      throw new Error(`redis-server is not on PATH: ${hint}`, { cause: error });
    }
    throw error;
  } finally {
    pinging.abort();
  }
}

/** Sends `signal` (if the process still runs) and waits for it to exit. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill(signal);
  await exited;
}

async function waitForPong(port: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  while (!signal.aborted) {
    if (await ping(port)) return;
    if (Date.now() > deadline) {
      throw new Error(`redis-server did not answer PING on port ${port} in ${startTimeoutMs} ms`);
    }
    await sleep(20);
  }
}

/** True if a server on `port` answers `+PONG` (not `-LOADING`, which it says while it reads its AOF). */
async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => finish(false));
    socket.once("error", () => finish(false));
    socket.once("close", () => finish(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString("utf8");
      if (reply.includes("\r\n")) finish(reply.startsWith("+PONG"));
    });
  });
}
