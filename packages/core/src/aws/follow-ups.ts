/**
 * Delivering follow-ups later through the interruption queue: within 15 minutes by SQS message
 * delay; further out by a one-time EventBridge Scheduler schedule that sends to the queue and
 * deletes itself. An early arrival is simply put back until due.
 */
import { CreateScheduleCommand, type SchedulerClient } from "@aws-sdk/client-scheduler";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { awsFailure } from "./errors";
import { followUpEnvelope } from "../events/follow-up";
import type { FollowUp } from "../events/types";

export const MAX_SQS_DELAY_SECONDS = 900;

export interface FollowUpScheduler {
  schedule(followUp: FollowUp): Promise<{ via: "queue" | "scheduler"; delaySeconds?: number; scheduleName?: string }>;
}

export interface QueueFollowUpsOptions {
  queueUrl: string;
  now: () => number;
  /** Needed for follow-ups beyond 15 minutes. */
  scheduler?: { client: SchedulerClient; queueArn: string; roleArn: string; groupName: string };
}

export class QueueFollowUps implements FollowUpScheduler {
  constructor(
    private readonly sqs: SQSClient,
    private readonly options: QueueFollowUpsOptions,
  ) {}

  async schedule(followUp: FollowUp) {
    const now = this.options.now();
    const delaySeconds = Math.max(0, Math.ceil((followUp.due.getTime() - now) / 1000));
    const body = JSON.stringify(followUpEnvelope(followUp, new Date(now)));
    const scheduler = this.options.scheduler;
    try {
      if (delaySeconds <= MAX_SQS_DELAY_SECONDS || !scheduler) {
        const delay = Math.min(delaySeconds, MAX_SQS_DELAY_SECONDS);
        await this.sqs.send(new SendMessageCommand({ QueueUrl: this.options.queueUrl, MessageBody: body, DelaySeconds: delay }));
        return { via: "queue" as const, delaySeconds: delay };
      }
      const scheduleName = scheduleNameFor(followUp);
      await scheduler.client.send(
        new CreateScheduleCommand({
          Name: scheduleName,
          GroupName: scheduler.groupName,
          ScheduleExpression: `at(${followUp.due.toISOString().slice(0, 19)})`,
          ScheduleExpressionTimezone: "UTC",
          FlexibleTimeWindow: { Mode: "OFF" },
          ActionAfterCompletion: "DELETE",
          Target: { Arn: scheduler.queueArn, RoleArn: scheduler.roleArn, Input: body },
        }),
      );
      return { via: "scheduler" as const, scheduleName };
    } catch (error) {
      if ((error as { name?: string }).name === "ConflictException") return { via: "scheduler" as const, scheduleName: scheduleNameFor(followUp) };
      throw awsFailure(`scheduling follow-up ${followUp.action} for ${followUp.event.instanceId}`, error);
    }
  }
}

/** Deterministic, so a redelivered event does not schedule twice (Scheduler answers Conflict). */
export function scheduleNameFor(followUp: FollowUp): string {
  const raw = `${followUp.action}-${followUp.event.instanceId}-${followUp.event.eventId}`.replace(/[^0-9A-Za-z_.-]/g, "-");
  return raw.slice(0, 64);
}
