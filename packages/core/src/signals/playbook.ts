/** What every signal's module provides: how its event is handled, and the follow-ups it schedules. */
import type { FollowUp, FollowUpAction, InterruptionKind } from "../events/types";
import type { Action } from "../pipeline/action";
import type { ActionReport } from "../pipeline/context";
import type { ActionRunner } from "../pipeline/runner";

export type FollowUpHandler = (run: ActionRunner, action: Action, followUp: FollowUp) => Promise<ActionReport>;

export interface SignalPlaybook {
  readonly kind: InterruptionKind;
  /** The event's delivery (first, duplicate or redelivered) or a drain continued in a follow-up (`action.attempt` > 0). */
  handle(run: ActionRunner, action: Action): Promise<ActionReport>;
  /** Follow-ups this signal schedules, by their action; `continue-drain` goes back to `handle`. */
  readonly followUps?: Partial<Record<Exclude<FollowUpAction, "continue-drain">, FollowUpHandler>>;
}
