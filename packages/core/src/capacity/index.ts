export {
  CAPACITY_IAM_ACTIONS,
  CAPACITY_METRICS,
  CAPACITY_TAGS,
  CAPACITY_TAG_PREFIX,
  DEFAULT_CAPACITY_FAILURE_REASONS,
  DEFAULT_SHORTFALL_MINUTES,
  FALLBACK_TAG_KEYS,
  INTERRUPTION_SERVICE,
} from "./constants";
export { CapacityNotifyError, CapacityWriteError, CronSyntaxError, GroupStateError, InvalidSnapshotError } from "./errors";
export { isTimeZone, instantOf, offsetAt, wallAt, formatWall } from "./zone";
export { parseCron, previousFiring, cronMatchesDay, cronMatchesWall, CRON_HORIZON_DAYS, type Cron } from "./cron";
export {
  parseCapacityPolicy,
  capacityPolicySchema,
  boundsSchema,
  windowSchema,
  groupSchema,
  fallbackSchema,
  type Bounds,
  type CapacityPolicy,
  type CapacityPolicyInput,
  type FallbackRule,
  type GroupPolicy,
  type GroupType,
  type WindowPolicy,
} from "./policy";
export { parseSnapshot, toSnapshot, observedGroupSchema, type ObservedGroup, type ObservedState, type ScalingActivity, type Snapshot } from "./state";
export { resolveSchedule, windowState, type ScheduleEntry, type WindowState } from "./schedule";
export { readMemory, readAnnounced, memoryTags, type FallbackMemory } from "./memory";
export { decideFallback, holdFallback, spotHealth, type FallbackDecision, type FallbackPhase, type SpotHealth } from "./fallback";
export {
  planCapacity,
  type CapacityAction,
  type CapacityPlan,
  type FallbackTransition,
  type GroupFailure,
  type GroupPlan,
  type ScalingAction,
  type ScalingKind,
  type Sizes,
  type TagsAction,
} from "./planner";
export { CapacityObserver, type CapacityReadClients, type ObserverOptions, type StateSource } from "./observe";
export { CapacityApplier, type ActionOutcome, type CallOutcome, type CapacityWriteClients, type CapacityWriter } from "./apply";
export { SnsCapacityNotifier, noCapacityNotifications, FALLBACK_NOTIFICATION_KIND, type CapacityNotifier, type FallbackNotification } from "./notify";
export {
  runCapacity,
  transitionId,
  type CapacityActionReport,
  type CapacityActionStatus,
  type CapacityRunDeps,
  type CapacityRunOptions,
  type CapacityRunReport,
  type TransitionReport,
  type TransitionStatus,
} from "./run";
export { checkAutoscalerTiming, rateMinutes, type AutoscalerTiming, type TimingProblem } from "./autoscaler";
