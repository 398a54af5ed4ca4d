/** Structured notifications on an SNS topic, at the start and end of each action. */
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { Log } from "../observability";

export interface Notification {
  phase: "start" | "end";
  cluster: string;
  kind: string;
  eventId: string;
  instanceId: string;
  node?: string;
  outcome?: string;
  /** A drill's synthetic signal, not a real interruption. */
  drill?: boolean;
  [field: string]: unknown;
}

export interface Notifier {
  publish(notification: Notification): Promise<void>;
}

export const noNotifications: Notifier = { publish: async () => undefined };

export class SnsNotifier implements Notifier {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
    private readonly log: Log,
  ) {}

  /** Publishes; a failed publish is logged, never allowed to fail the action it reports on. */
  async publish(notification: Notification): Promise<void> {
    const subject = `spot-manager ${notification.kind} ${notification.phase}: ${notification.node ?? notification.instanceId}`.slice(0, 100);
    try {
      await this.sns.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Subject: subject,
          Message: JSON.stringify({ product: "spot-manager", version: 1, ...notification }),
          MessageAttributes: {
            kind: { DataType: "String", StringValue: notification.kind },
            phase: { DataType: "String", StringValue: notification.phase },
            cluster: { DataType: "String", StringValue: notification.cluster },
            // subscription filter policies can leave drills out (or take only them)
            drill: { DataType: "String", StringValue: notification.drill === true ? "true" : "false" },
          },
        }),
      );
    } catch (error) {
      this.log.warn("notification not published", { error: (error as Error).message, topicArn: this.topicArn });
    }
  }
}
