import type { ChannelWrite } from "@waypoint/checkpoint";

/** What a subgraph node returns to its parent: the state writes the subgraph made, in order. */
export class SubgraphOutput {
  constructor(readonly writes: readonly ChannelWrite[]) {}
}
