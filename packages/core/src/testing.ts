/** For tests: named fault points in the runtime (crash or fail at an exact boundary). */
export {
  InjectedFault,
  armFault,
  disarmFaults,
  type FaultAction,
  type FaultPointName,
} from "./faults.js";
