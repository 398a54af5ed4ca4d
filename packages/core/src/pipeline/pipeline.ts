/**
 * The interruption pipeline: parse -> resolve -> decide -> act -> record, for one normalized event
 * or follow-up. Each signal's playbook lives in its own module (../signals); this dispatches to it
 * over one shared runner. Every step is idempotent (the node's ledger and the taint with the event
 * id are the state), so a redelivered event finishes the work and a duplicate repeats nothing.
 * A drill's event runs through the same playbooks; every metric point it adds carries `drill: "true"`,
 * so dashboards, alarms and the capacity manager's interruption count leave drills out.
 */
import { METRICS } from "../constants";
import type { FollowUp, InterruptionEvent } from "../events/types";
import { withDimensions } from "../observability";
import { PLAYBOOKS } from "../signals";
import { Action } from "./action";
import type { ActionReport, Invocation, PipelineDeps } from "./context";
import { ActionRunner } from "./runner";

/** The dimension every metric point of a drill carries. */
export const DRILL_DIMENSION = { drill: "true" } as const;

export class InterruptionPipeline {
  private readonly real: ActionRunner;
  private readonly drill: ActionRunner;

  constructor(deps: PipelineDeps) {
    this.real = new ActionRunner(deps);
    this.drill = this.real.sibling({ ...deps, metrics: withDimensions(deps.metrics, DRILL_DIMENSION) });
  }

  private runnerFor(event: InterruptionEvent): ActionRunner {
    return event.drill ? this.drill : this.real;
  }

  /** Acts on one normalized event; throws SkipError (acknowledge), RetryError (back to the queue) or PermanentError (to the DLQ). */
  async handleEvent(event: InterruptionEvent, invocation: Invocation): Promise<ActionReport> {
    const run = this.runnerFor(event);
    run.deps.metrics.add(METRICS.eventsReceived, "Count", 1, { kind: event.kind });
    const action = new Action(run.deps, event, invocation, event.kind);
    action.log.info("event received", { time: event.time.toISOString(), deadline: event.deadline?.toISOString(), receiveCount: invocation.receiveCount });
    return run.continuing(action, () => PLAYBOOKS[event.kind].handle(run, action));
  }

  /** Acts on a follow-up the pipeline scheduled earlier. */
  async handleFollowUp(followUp: FollowUp, invocation: Invocation): Promise<ActionReport> {
    const run = this.runnerFor(followUp.event);
    const playbook = PLAYBOOKS[followUp.event.kind];
    const continuation = followUp.action === "continue-drain";
    const phase = continuation ? followUp.event.kind : `${followUp.event.kind}.${followUp.action}`;
    const action = new Action(run.deps, followUp.event, invocation, `follow-up:${followUp.action}`, followUp.attempt, phase);
    if (followUp.due.getTime() > run.deps.now() + 1_000) {
      // arrived early (a hop of a long wait): put it back until due
      await run.scheduleFollowUp(action, followUp.action, followUp.due, followUp.attempt);
      return action.finish("scheduled", `not due until ${followUp.due.toISOString()}`);
    }
    if (followUp.action === "continue-drain") return run.continuing(action, () => playbook.handle(run, action));
    const handler = playbook.followUps?.[followUp.action];
    if (!handler) {
      action.log.warn("follow-up has no handler for its signal", { followUp: followUp.action });
      return action.finish("skipped", `${followUp.event.kind} has no follow-up ${followUp.action}`);
    }
    return run.continuing(action, () => handler(run, action, followUp));
  }
}
