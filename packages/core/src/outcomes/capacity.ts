/**
 * Capacity Fallback Started and Ended: published beside the fallback notification, by the same
 * rule — once the on-demand group's change went through, and again (with the same `id`) only when
 * the announcement could not be recorded on the group. A failed PutEvents does not hold the
 * transition back: it is logged and counted, and the notification goes on as before.
 */
import type { CapacityNotifier, FallbackNotification } from "../capacity/notify";
import type { OutcomePublisher } from "./publisher";
import { OUTCOME_DETAIL_TYPES, type CapacityFallbackDetail, type OutcomeEvent } from "./types";

export function capacityFallbackEvent(notification: FallbackNotification): OutcomeEvent {
  const detail: CapacityFallbackDetail = {
    cluster: notification.cluster,
    id: notification.id,
    onDemandGroup: notification.onDemandGroup,
    spotGroups: [...notification.spotGroups],
    extra: notification.extra,
    reason: notification.reason,
    since: notification.since,
  };
  return { detailType: notification.phase === "start" ? OUTCOME_DETAIL_TYPES.capacityFallbackStarted : OUTCOME_DETAIL_TYPES.capacityFallbackEnded, detail };
}

/** The notifier, publishing each transition it accepted as an outcome event too. */
export function withFallbackOutcomes(notifier: CapacityNotifier, outcomes: OutcomePublisher): CapacityNotifier {
  return {
    async publish(notification) {
      // the notification decides whether the transition counts as announced: it goes first
      await notifier.publish(notification);
      await outcomes.publish([capacityFallbackEvent(notification)]);
    },
  };
}
