export { chatModelNode, type ChatModelNodeOptions, type ChatRunnable } from "./chat-model-node.js";
export {
  REMOVE_ALL_MESSAGES,
  mergeMessages,
  messages,
  unansweredToolCalls,
  type MessagesUpdate,
} from "./messages-channel.js";
export { createHandoffTool, type HandoffToolOptions } from "./handoff-tool.js";
export { langchainPlugin, langchainSerializer } from "./messages-plugin.js";
export { langchainNode, runnableConfig, type ConfigContext } from "./node-config.js";
export { StreamMessagesHandler } from "./stream-messages-handler.js";
export {
  AgentState,
  MessagesAnnotation,
  createToolCallingAgent,
  type ToolCallingAgentOptions,
} from "./tool-calling-agent.js";
export { toolNode, type ToolNodeOptions } from "./tool-node.js";
