/** Named errors of the capacity manager: each one names what is wrong and where. */

/** A cron expression that cannot be parsed, or can never fire. */
export class CronSyntaxError extends Error {
  override readonly name = "CronSyntaxError";
  constructor(
    readonly expression: string,
    message: string,
  ) {
    super(`cron "${expression}": ${message}`);
  }
}

/**
 * The observed state of one group is missing or unusable: that group is not planned this time.
 * The message leaves the group out: it travels beside it (failures, log fields).
 */
export class GroupStateError extends Error {
  override readonly name = "GroupStateError";
  constructor(
    readonly group: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A state snapshot (the plan-capacity input) whose overall shape is wrong. */
export class InvalidSnapshotError extends Error {
  override readonly name = "InvalidSnapshotError";
}

/** A write to a node group or Auto Scaling group failed; the group's remaining actions were not sent. The group travels beside the message. */
export class CapacityWriteError extends Error {
  override readonly name = "CapacityWriteError";
  constructor(
    readonly group: string,
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation} failed: ${options?.cause instanceof Error ? options.cause.message : String(options?.cause)}`, options);
  }
}

/** The notification topic did not accept a fallback notification. */
export class CapacityNotifyError extends Error {
  override readonly name = "CapacityNotifyError";
  constructor(
    readonly topicArn: string,
    options?: { cause?: unknown },
  ) {
    super(`sns:Publish to ${topicArn} failed: ${options?.cause instanceof Error ? options.cause.message : String(options?.cause)}`, options);
  }
}
