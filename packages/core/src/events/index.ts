export * from "./types";
export { parseMessage, parseMessageBody, HANDLED_SIGNALS } from "./parse";
export { followUpEnvelope, FOLLOW_UP_DETAIL_TYPE, FOLLOW_UP_SOURCE } from "./follow-up";
export { DETAIL_TYPE as SPOT_INTERRUPTION_DETAIL_TYPE } from "./spot-interruption";
export { DETAIL_TYPE as REBALANCE_DETAIL_TYPE } from "./rebalance-recommendation";
export { TERMINATE_DETAIL_TYPE as ASG_TERMINATE_DETAIL_TYPE, LAUNCH_DETAIL_TYPE as ASG_LAUNCH_DETAIL_TYPE } from "./asg-lifecycle";
export { DETAIL_TYPE as STATE_CHANGE_DETAIL_TYPE } from "./instance-state-change";
export { DETAIL_TYPE as HEALTH_DETAIL_TYPE } from "./scheduled-change";
export { syntheticEvent, DRILL_KINDS, type DrillKind, type SyntheticOptions } from "./synthetic";
