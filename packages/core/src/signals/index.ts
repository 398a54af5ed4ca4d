/** Every signal's playbook, by kind: a new signal is one new module here. */
import type { InterruptionKind } from "../events/types";
import { asgLaunch } from "./asg-launch";
import { asgTerminate } from "./asg-terminate";
import type { SignalPlaybook } from "./playbook";
import { rebalanceRecommendation } from "./rebalance-recommendation";
import { scheduledChange } from "./scheduled-change";
import { spotInterruption } from "./spot-interruption";
import { stateChange } from "./state-change";

export const PLAYBOOKS: Readonly<Record<InterruptionKind, SignalPlaybook>> = {
  "spot-interruption": spotInterruption,
  "rebalance-recommendation": rebalanceRecommendation,
  "asg-terminate": asgTerminate,
  "asg-launch": asgLaunch,
  "state-change": stateChange,
  "scheduled-change": scheduledChange,
};

export type { SignalPlaybook, FollowUpHandler } from "./playbook";
