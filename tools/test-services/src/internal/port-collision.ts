import { freePort } from "../free-port.js";

/** Thrown by a server start when its port was taken between freePort() and bind. */
export class PortInUseError extends Error {
  constructor(port: number, detail: string) {
    super(`port ${port} is already in use: ${detail}`);
    this.name = "PortInUseError";
  }
}

/** Runs `start` on a free port, and again on a new one if that port was taken. */
export async function startOnFreePort<T>(
  start: (port: number) => Promise<T>,
  attempts = 5,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort());
    } catch (error) {
      if (!(error instanceof PortInUseError) || attempt >= attempts) throw error;
    }
  }
}
