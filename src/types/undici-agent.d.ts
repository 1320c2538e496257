// forwarder.ts loads undici's Agent on its own (see there); it is the class `undici` exports.
declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici';
  const AgentClass: typeof Agent;
  export default AgentClass;
}
