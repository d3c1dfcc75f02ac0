// The URLs the int project's global setup hands to tests (tools/test-services).
import "vitest";
declare module "vitest" {
  export interface ProvidedContext {
    pgUrl: string;
    redisUrl: string;
  }
}
