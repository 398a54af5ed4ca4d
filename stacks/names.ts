/** Physical names shared between stacks (and with `spot-manager drill`), derived from the stage once. */
export function resourceNames(stage: string) {
  const prefix = `spot-manager-${stage}`;
  return {
    interruptionFunction: `${prefix}-interruption`,
    interruptionQueue: `${prefix}-interruptions`,
    interruptionDlq: `${prefix}-interruptions-dlq`,
    notificationTopic: `${prefix}-notifications`,
    schedulerGroup: `${prefix}-follow-ups`,
    dashboard: `${prefix}`,
    metricsService: "spot-manager-interruption",
  };
}
