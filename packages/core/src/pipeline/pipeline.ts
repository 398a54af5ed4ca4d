/**
 * The interruption pipeline: parse -> resolve -> decide -> act -> record, for one normalized event
 * or follow-up. Each signal's playbook lives in its own module (../signals); this dispatches to it
 * over one shared runner. Every step is idempotent (the node's ledger and the taint with the event
 * id are the state), so a redelivered event finishes the work and a duplicate repeats nothing.
 */
import { METRICS } from "../constants";
import type { FollowUp, InterruptionEvent } from "../events/types";
import { PLAYBOOKS } from "../signals";
import { Action } from "./action";
import type { ActionReport, Invocation, PipelineDeps } from "./context";
import { ActionRunner } from "./runner";

export class InterruptionPipeline {
  private readonly run: ActionRunner;

  constructor(private readonly deps: PipelineDeps) {
    this.run = new ActionRunner(deps);
  }

  /** Acts on one normalized event; throws SkipError (acknowledge), RetryError (back to the queue) or PermanentError (to the DLQ). */
  async handleEvent(event: InterruptionEvent, invocation: Invocation): Promise<ActionReport> {
    this.deps.metrics.add(METRICS.eventsReceived, "Count", 1, { kind: event.kind });
    const action = new Action(this.deps, event, invocation, event.kind);
    action.log.info("event received", { time: event.time.toISOString(), deadline: event.deadline?.toISOString(), receiveCount: invocation.receiveCount });
    return this.run.continuing(action, () => PLAYBOOKS[event.kind].handle(this.run, action));
  }

  /** Acts on a follow-up the pipeline scheduled earlier. */
  async handleFollowUp(followUp: FollowUp, invocation: Invocation): Promise<ActionReport> {
    const playbook = PLAYBOOKS[followUp.event.kind];
    const continuation = followUp.action === "continue-drain";
    const phase = continuation ? followUp.event.kind : `${followUp.event.kind}.${followUp.action}`;
    const action = new Action(this.deps, followUp.event, invocation, `follow-up:${followUp.action}`, followUp.attempt, phase);
    if (followUp.due.getTime() > this.deps.now() + 1_000) {
      // arrived early (a hop of a long wait): put it back until due
      await this.run.scheduleFollowUp(action, followUp.action, followUp.due, followUp.attempt);
      return action.finish("scheduled", `not due until ${followUp.due.toISOString()}`);
    }
    if (followUp.action === "continue-drain") return this.run.continuing(action, () => playbook.handle(this.run, action));
    const handler = playbook.followUps?.[followUp.action];
    if (!handler) {
      action.log.warn("follow-up has no handler for its signal", { followUp: followUp.action });
      return action.finish("skipped", `${followUp.event.kind} has no follow-up ${followUp.action}`);
    }
    return this.run.continuing(action, () => handler(this.run, action, followUp));
  }
}
