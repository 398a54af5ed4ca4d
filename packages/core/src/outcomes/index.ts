export * from "./types";
export { EventBridgeOutcomes, noOutcomes, entrySize, fitDetail, batches, MAX_ENTRY_BYTES, MAX_ENTRIES_PER_CALL, RETRYABLE_ENTRY_ERRORS, type OutcomePublisher, type PublishSummary, type PublishFailure, type EventBridgeOutcomesOptions } from "./publisher";
export { nodeProtectedEvent, drainFinishedEvent, lifecycleActionCompletedEvent, replacementRequestedEvent, signalRef, partitionOf, type OutcomeSubject, type DrainEnd, type LifecycleCompletion } from "./interruption";
export { capacityFallbackEvent, withFallbackOutcomes } from "./capacity";
export { buildOutcomeEvent } from "./build";
