// The engine's public face: what operations, tests and benchmarks import.
export {
  execute,
  failureSummary,
  dryRunReport,
  type ExecuteOptions,
  type RunResult,
  type PhaseOutcome,
  type HostOutcome,
} from './run.js';
export { phaseStage, runPhases, type RunPhasesOptions } from './phase-stage.js';
export { SkipItem, type Stage, type ItemContext, type ItemResult } from './stage.js';
export type { Phase, PhaseHost } from './phase.js';
export { HostStep, type Change, type FileOptions } from './host-step.js';
export { jsonLine, SILENT, type EventSink, type Progress, type RunEvent, type HostStatus } from './events.js';
