import type { Checkpointer } from "@waypoint/checkpoint";
import {
  END,
  START,
  StateGraph,
  defineState,
  lastValue,
  reducer,
  type NodeContext,
} from "@waypoint/core";

/**
 * A small graph for the inspector's tests: `gather` calls two effects, `approve` waits for a human (interrupt), `finish`
 * writes the outcome. Each effect's idempotency key is kept in `keys`, so a
 * test can check the ledger shows the key the effect was given.
 */
export const ApprovalState = defineState({
  request: lastValue<string>(),
  items: reducer(
    (all: string[], more: string[]) => [...all, ...more],
    (): string[] => [],
  ),
  decision: lastValue<{ approved: boolean; note?: string }>(),
  outcome: lastValue<string>(),
});

export function buildApprovalGraph(checkpointer: Checkpointer, keys: string[] = []) {
  async function gather(state: { request?: string }, ctx: NodeContext) {
    const stock = await ctx.effect("lookup-stock", ({ idempotencyKey }) => {
      keys.push(idempotencyKey);
      return { request: state.request, inStock: 3 };
    });
    const price = await ctx.effect("quote-price", ({ idempotencyKey }) => {
      keys.push(idempotencyKey);
      return { total: 42 };
    });
    return { items: [`stock:${stock.inStock}`, `price:${price.total}`] };
  }
  function approve(_state: unknown, ctx: NodeContext) {
    const decision = ctx.interrupt<{ approved: boolean; note?: string }>({
      question: "Approve this order?",
    });
    return { decision };
  }
  function finish(state: { decision?: { approved: boolean } }) {
    return { outcome: state.decision?.approved ? "ordered" : "declined" };
  }
  return new StateGraph(ApprovalState)
    .addNode("gather", gather)
    .addNode("approve", approve)
    .addNode("finish", finish)
    .addEdge(START, "gather")
    .addEdge("gather", "approve")
    .addEdge("approve", "finish")
    .addEdge("finish", END)
    .compile({ checkpointer, name: "approval" });
}

export type ApprovalGraph = ReturnType<typeof buildApprovalGraph>;

/** A parent whose `review` node is the approval graph as a subgraph: its checkpoints live in a namespace of their own. */
export function buildParentGraph(checkpointer: Checkpointer, keys: string[] = []) {
  const child = buildApprovalGraph(checkpointer, keys);
  return new StateGraph(ApprovalState)
    .addNode("review", child)
    .addEdge(START, "review")
    .addEdge("review", END)
    .compile({ checkpointer, name: "parent" });
}
