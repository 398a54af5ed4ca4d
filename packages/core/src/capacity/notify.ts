/** Notifications when a spot fallback starts and ends: a JSON body on an SNS topic. */
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import { PRODUCT } from "../constants";
import type { Log } from "../observability";

export interface FallbackNotification {
  phase: "start" | "end";
  cluster: string;
  onDemandGroup: string;
  spotGroups: string[];
  /** Instances the on-demand group holds above its schedule after the change. */
  extra: number;
  reason: string;
  at: string;
}

export interface CapacityNotifier {
  publish(notification: FallbackNotification): Promise<void>;
}

export const noCapacityNotifications: CapacityNotifier = { publish: async () => undefined };

export const FALLBACK_NOTIFICATION_KIND = "spot-fallback";

export class SnsCapacityNotifier implements CapacityNotifier {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
    private readonly log: Log,
  ) {}

  /** Publishes; a failed publish is logged, never allowed to fail the change it reports on. */
  async publish(notification: FallbackNotification): Promise<void> {
    const subject = `${PRODUCT} ${FALLBACK_NOTIFICATION_KIND} ${notification.phase}: ${notification.onDemandGroup}`.slice(0, 100);
    try {
      await this.sns.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Subject: subject,
          Message: JSON.stringify({ product: PRODUCT, version: 1, kind: FALLBACK_NOTIFICATION_KIND, ...notification }),
          MessageAttributes: {
            kind: { DataType: "String", StringValue: FALLBACK_NOTIFICATION_KIND },
            phase: { DataType: "String", StringValue: notification.phase },
            cluster: { DataType: "String", StringValue: notification.cluster },
          },
        }),
      );
    } catch (error) {
      this.log.warn("notification not published", { error: (error as Error).message, topicArn: this.topicArn });
    }
  }
}
