/** Notifications when a spot fallback starts and ends: a JSON body on an SNS topic. */
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import { PRODUCT } from "../constants";
import { CapacityNotifyError } from "./errors";

export interface FallbackNotification {
  phase: "start" | "end";
  cluster: string;
  onDemandGroup: string;
  spotGroups: string[];
  /** Instances the on-demand group holds above its schedule after the change. */
  extra: number;
  reason: string;
  /** When this fallback started (ISO 8601). */
  since: string;
  /** The same for every attempt at this transition: `<cluster>/<group>/<phase>/<since>`; subscribers may drop repeats by it. */
  id: string;
  /** When it was published (ISO 8601). */
  at: string;
}

export interface CapacityNotifier {
  /** Publishes; throws when the notification was not accepted (the caller retries on its next run). */
  publish(notification: FallbackNotification): Promise<void>;
}

export const noCapacityNotifications: CapacityNotifier = { publish: async () => undefined };

export const FALLBACK_NOTIFICATION_KIND = "spot-fallback";

export class SnsCapacityNotifier implements CapacityNotifier {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
  ) {}

  /** Publishes; throws CapacityNotifyError when SNS refuses, so the run can try again later. */
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
      throw new CapacityNotifyError(this.topicArn, { cause: error });
    }
  }
}
