/**
 * Taking back what an event put on a node — its taint (by value) and the cordon it made — as one
 * guarded change, decided again after every conflict: a node that another signal holds (an
 * interruption, termination or maintenance taint, or a stop in its ledger) is never uncordoned or
 * untainted, even when that signal arrived in another invocation a moment ago.
 */
import { ANNOTATIONS, PROTECTIVE_TAINT_KEYS, type TaintPurpose } from "../constants";
import { hasTaint, taintsOf, type NodeChangeResult } from "../kube/node-state";
import type { Node } from "../kube/types";
import type { Action } from "../pipeline/action";
import { goingAway } from "../pipeline/ledger";
import type { ActionRunner } from "../pipeline/runner";
import { taintKey, taintValue } from "../pipeline/taints";

/** Why another signal still holds the node, or undefined when none does. */
export function heldByOthers(node: Node, own: { kind: string; eventId: string; taintKey?: string | undefined }): string | undefined {
  const value = taintValue(own.eventId);
  const other = taintsOf(node).find((t) => PROTECTIVE_TAINT_KEYS.includes(t.key) && !(t.key === own.taintKey && (t.value ?? "") === value));
  if (other) return `the node carries ${other.key}=${other.value ?? ""}`;
  if (goingAway(node, own)) return "a signal that takes the node away was acted on it";
  return undefined;
}

export interface Release {
  purpose: TaintPurpose;
  /** Why the node must be left as it is, seen on the node as it now is (checked again after a conflict). */
  keepIf(node: Node): string | undefined;
}

/** Removes the event's taint and its cordon, unless the node must be kept; says what it did. */
export async function releaseNode(run: ActionRunner, action: Action, node: Node, release: Release): Promise<NodeChangeResult & { uncordoned: boolean }> {
  const key = taintKey(run.deps.policy.taintStyle, release.purpose);
  const value = taintValue(action.event.eventId);
  const ownCordon = `${action.event.kind}/${value}`;
  let uncordoned = false;
  const plan = (current: Node) => {
    const held = release.keepIf(current);
    if (held) return { abort: held };
    const ourTaint = key !== undefined && hasTaint(current, key, value);
    const ourCordon = current.metadata?.annotations?.[ANNOTATIONS.action] === ownCordon && current.spec?.unschedulable === true;
    if (!ourTaint && !ourCordon) return { abort: "nothing this event put on the node is left" };
    uncordoned = ourCordon;
    return {
      ...(ourTaint && key ? { removeTaints: [{ key, onlyIfValue: value }] } : {}),
      ...(ourCordon ? { unschedulable: false, annotations: { [ANNOTATIONS.action]: null } } : {}),
    };
  };
  if (run.dryRun) {
    const decided = plan(node);
    return { node, changed: false, requests: 0, uncordoned, ...("abort" in decided ? { aborted: decided.abort } : {}) };
  }
  const result = await run.changeNode(action, node, plan);
  return { ...result, uncordoned: uncordoned && result.changed };
}
