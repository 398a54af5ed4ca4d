/**
 * Replacement capacity at the warning: when a spot instance is about to go, its group starts the
 * replacement now, so the new node is Ready about when the old one goes.
 *
 * - Spot interruption warning: DetachInstances without decrementing desired. The Auto Scaling
 *   group (a self-managed one, or the one EKS runs a managed node group on) launches the
 *   replacement at once to keep desired; the instance keeps running outside the group until EC2
 *   reclaims it, so the group does not replace it a second time then. Desired, min and max stay
 *   as cluster-autoscaler and EKS set them. A group that already counts a replacement (capacity
 *   rebalancing launched one, a scale-out is under way) or is terminating the instance itself is
 *   left alone.
 * - The spot group short (per the capacity policy's fallback rule: a fallback active, a shortfall
 *   older than its minutes, or a launch failed for capacity within its window): the on-demand
 *   group's desired is raised by one instead, as cluster-autoscaler raises it.
 * - Rebalance recommendation (by policy): groups with capacity rebalancing launch their own; for
 *   one without, desired is raised by one, and the interruption that may follow detaches the old
 *   instance with desired decremented, so the count ends where it began.
 *
 * Bounded: at most `maxExtraPerGroup` replacements per group within `cooldownSeconds`, counted
 * from the records on the nodes. Idempotent per event id: the node's record (written before the
 * request) and the group's own membership decide, across duplicates and containers. In dry run
 * everything is read and the decision reported; nothing is changed.
 */
import { ANNOTATIONS, EVENT_REASONS, METRICS } from "../constants";
import { allSettledOrThrow, KeyedMutex } from "../concurrency";
import { CAPACITY_TAGS } from "../capacity/constants";
import type { FallbackRule } from "../capacity/policy";
import { errorMessage, PermanentError, RetryError } from "../errors";
import type { NodeChangeResult, NodePlanner } from "../kube/node-state";
import type { Node } from "../kube/types";
import type { ReplacementRequest } from "../outcomes/types";
import type { Action } from "../pipeline/action";
import type { PipelineDeps } from "../pipeline/context";
import type { Target } from "../resolve/resolve-target";
import { countsTowardDesired, type AutoScalingGroups, type GroupState } from "./groups";
import { inFlight, isRecordOf, recordOf, recordValue, type RecordState, type ReplacementMechanism, type ReplacementRecord } from "./record";

export type ReplacementTrigger = "spot-interruption" | "rebalance-recommendation";

/**
 * requested: this delivery asked for it; already-requested: an earlier delivery of the event did;
 * in-progress: the group already has the replacement coming (or is terminating the instance
 * itself); not-needed / skipped: nothing to ask (with why); failed: AWS refused or could not be
 * reached; dry-run: what would be asked.
 */
export type ReplacementStatus = "requested" | "already-requested" | "in-progress" | "not-needed" | "skipped" | "failed" | "dry-run";

export interface ReplacementReport {
  status: ReplacementStatus;
  trigger: ReplacementTrigger;
  mechanism?: ReplacementMechanism;
  /** The doomed instance's group, as the capacity policy names it (node group or Auto Scaling group). */
  group?: string;
  /** The group that launches the replacement: the same, or the on-demand group of a fallback. */
  replacementGroup?: string;
  /** The Auto Scaling group the request went to. */
  autoScalingGroup?: string;
  desired?: { from: number; to: number };
  reason: string;
  error?: { code: string; permanent: boolean; message: string };
  /** Epoch ms the request was sent. */
  requestedAt?: number;
}

/** What the outcome hook receives, once per replacement actually requested (never in dry run, never for a duplicate). */
export interface ReplacementRequested {
  cluster: string;
  eventId: string;
  trigger: ReplacementTrigger;
  instanceId: string;
  node: string;
  group: string;
  replacementGroup: string;
  autoScalingGroup: string;
  mechanism: ReplacementMechanism;
  desired?: { from: number; to: number };
  reason: string;
  requestedAt: string;
}

/** What the coordinator needs of the runner: guarded node changes and node Events. */
export interface ReplacementHost {
  readonly deps: PipelineDeps;
  changeNode(action: Action, node: Node, planner: NodePlanner): Promise<NodeChangeResult>;
  nodeEvent(action: Action, node: Node, reason: string, message: string, type?: "Normal" | "Warning"): Promise<void>;
  /** Publishes the Replacement Requested outcome event; never throws. */
  replacementRequested(action: Action, request: ReplacementRequest): Promise<unknown>;
}

interface Plan {
  mechanism: ReplacementMechanism;
  group: string;
  replacementGroup: string;
  autoScalingGroup: string;
  desired?: { from: number; to: number };
  reason: string;
  send(groups: AutoScalingGroups): Promise<"sent" | "not-member" | "not-in-service">;
}

const MINUTE_MS = 60_000;

/** A plan that raises an Auto Scaling group's desired capacity by one (the caller checked its max). */
function raiseByOne(mechanism: "raise-desired" | "on-demand-fallback", group: string, replacementGroup: string, asg: string, desired: number, reason: (to: number) => string): Plan {
  const to = desired + 1;
  return {
    mechanism,
    group,
    replacementGroup,
    autoScalingGroup: asg,
    desired: { from: desired, to },
    reason: reason(to),
    send: async (g) => {
      await g.setDesired(asg, to);
      return "sent";
    },
  };
}

/** The node group (EKS managed) or Auto Scaling group an instance belongs to. */
function groupOf(target: Target): string | undefined {
  return target.instance.tags["eks:nodegroup-name"] ?? target.instance.autoScalingGroup;
}

export class Replacements {
  private readonly groupLocks = new KeyedMutex();

  constructor(private readonly host: ReplacementHost) {}

  private get deps(): PipelineDeps {
    return this.host.deps;
  }

  /** Whether this trigger asks for replacement capacity under the policy. */
  applies(trigger: ReplacementTrigger): boolean {
    const policy = this.deps.policy.replacement;
    if (!policy.enabled || !this.deps.groups) return false;
    return trigger === "spot-interruption" || policy.onRebalanceRecommendation;
  }

  /** Decides and (outside dry run) requests the replacement; never throws: a failure is a report. */
  async request(action: Action, target: Target, node: Node, trigger: ReplacementTrigger): Promise<ReplacementReport> {
    const base = { trigger };
    try {
      const decided = await this.decide(action, target, node, trigger);
      if (!("send" in decided)) return { ...base, ...decided };
      return await this.send(action, node, trigger, decided);
    } catch (error) {
      return this.failed(action, node, { ...base, group: groupOf(target) }, error);
    }
  }

  private async decide(action: Action, target: Target, node: Node, trigger: ReplacementTrigger): Promise<Plan | Omit<ReplacementReport, "trigger">> {
    const groups = this.deps.groups as AutoScalingGroups;
    const instanceId = target.instance.instanceId || action.event.instanceId;
    const asg = target.instance.autoScalingGroup;
    const group = groupOf(target);
    if (!asg || !group) return { status: "skipped", reason: `instance ${instanceId} belongs to no Auto Scaling group: nothing keeps its capacity` };
    const record = recordOf(node);
    const own = isRecordOf(record, action.event.eventId) ? record : undefined;
    // raising desired is never asked twice for one event: the record was written before it was sent
    if (own && own.state !== "failed" && own.mechanism !== "detach" && own.mechanism !== "detach-after-raise") {
      return { status: "already-requested", mechanism: own.mechanism, group, replacementGroup: own.group, reason: `${own.mechanism} was requested for event ${action.event.eventId} at ${iso(own.at)}` };
    }
    // the reads go out together: at a two-minute warning every round trip counts
    const rule = trigger === "spot-interruption" ? this.fallbackRule(group) : undefined;
    const [membership, named, shortfall] = await allSettledOrThrow([groups.membership(instanceId), groups.group(asg), rule ? this.readShortage(groups, action, rule, group, asg) : undefined]);
    const where = { group, autoScalingGroup: asg };
    if (!membership) {
      return own && own.state !== "failed"
        ? { status: "already-requested", mechanism: own.mechanism, ...where, replacementGroup: own.group, reason: `${instanceId} was detached from ${asg} for this event at ${iso(own.at)}; the group launched its replacement` }
        : { status: "not-needed", ...where, reason: `${instanceId} is in no Auto Scaling group any more (detached or gone): no group replaces it` };
    }
    const state = membership.lifecycleState;
    if (state.startsWith("Terminating")) return { status: "in-progress", ...where, reason: `${membership.autoScalingGroup} is already terminating ${instanceId} (${state}); its replacement is the group's own` };
    if (state === "Detaching" || state === "Detached") return { status: "already-requested", ...where, reason: `${instanceId} is ${state.toLowerCase()} from ${membership.autoScalingGroup}` };
    if (state !== "InService" && state !== "Standby") return { status: "skipped", ...where, reason: `${instanceId} is ${state} in ${membership.autoScalingGroup}: nothing to replace yet` };

    if (trigger === "rebalance-recommendation") {
      return this.decideRebalance(instanceId, group, membership.autoScalingGroup, membership.autoScalingGroup === asg ? named : await groups.group(membership.autoScalingGroup));
    }

    if (rule && shortfall?.short) return this.fallbackPlan(groups, rule, group, shortfall);
    const current = membership.autoScalingGroup === asg ? named : await groups.group(membership.autoScalingGroup);
    if (!current) return { status: "skipped", ...where, reason: `Auto Scaling group ${membership.autoScalingGroup} is not known to Auto Scaling` };
    const others = current.instances.filter((i) => i.instanceId !== instanceId && countsTowardDesired(i.lifecycleState)).length;
    // a recommendation raised desired for this very instance: detach it taking that one back
    const raisedBefore = record && record.mechanism === "raise-desired" && record.state !== "failed" && record.group === group;
    if (raisedBefore) {
      return {
        mechanism: "detach-after-raise",
        group,
        replacementGroup: group,
        autoScalingGroup: current.name,
        desired: { from: current.desired, to: current.desired - 1 },
        reason: `desired was raised for ${instanceId} at its rebalance recommendation (${iso(record.at)}): detach it decrementing desired, the replacement already runs`,
        send: async (g) => toSent(await g.detach(current.name, instanceId, true)),
      };
    }
    if (others >= current.desired) {
      return { status: "in-progress", ...where, reason: `${current.name} already has ${others} other instances for desired ${current.desired}: its replacement is on its way (capacity rebalancing or a scale-out)` };
    }
    return {
      mechanism: "detach",
      group,
      replacementGroup: group,
      autoScalingGroup: current.name,
      reason: `detach ${instanceId} from ${current.name} keeping desired ${current.desired}: the group launches its replacement now`,
      send: async (g) => toSent(await g.detach(current.name, instanceId, false)),
    };
  }

  private decideRebalance(instanceId: string, group: string, asg: string, current: GroupState | undefined): Plan | Omit<ReplacementReport, "trigger"> {
    const where = { group, autoScalingGroup: asg };
    if (!current) return { status: "skipped", ...where, reason: `Auto Scaling group ${asg} is not known to Auto Scaling` };
    if (current.capacityRebalance) return { status: "not-needed", ...where, reason: `capacity rebalancing on ${asg} launches the replacement itself` };
    const others = current.instances.filter((i) => i.instanceId !== instanceId && countsTowardDesired(i.lifecycleState)).length;
    if (others >= current.desired) return { status: "in-progress", ...where, reason: `${asg} already has ${others} other instances for desired ${current.desired}` };
    if (current.desired >= current.max) return { status: "skipped", ...where, reason: `${asg} is at its max (${current.max}): desired cannot be raised` };
    return raiseByOne("raise-desired", group, group, asg, current.desired, (to) => `raise ${asg} desired ${current.desired} -> ${to} ahead of a likely interruption (no capacity rebalancing on the group)`);
  }

  /** The capacity policy's fallback rule covering the group, when the policy asks for fallbacks. */
  private fallbackRule(group: string): FallbackRule | undefined {
    if (!this.deps.policy.replacement.fallbackToOnDemand) return undefined;
    return this.deps.capacityPolicy?.fallbacks.find((r) => r.spotGroups.includes(group));
  }

  /** Whether spot is short for the rule (the on-demand group's tags, the spot group's failed launches); undefined when that cannot be read. */
  private async readShortage(groups: AutoScalingGroups, action: Action, rule: FallbackRule, group: string, asg: string): Promise<{ short?: string; onDemandAsg?: string } | undefined> {
    const onDemand = rule.onDemandGroup;
    const spec = this.deps.capacityPolicy?.groups[onDemand];
    try {
      const [read, failures] = await allSettledOrThrow([
        spec?.type === "managed-node-group"
          ? groups.nodegroup(this.deps.clusterName, onDemand).then((ng) => ng && { tags: ng.tags, asg: ng.autoScalingGroups[0] })
          : groups.group(onDemand).then((g) => g && { tags: g.tags, asg: g.name }),
        groups.capacityFailures(asg, this.deps.now() - rule.capacityFailures.windowMinutes * MINUTE_MS, rule.capacityFailures.reasons),
      ]);
      const short = shortage(rule, read?.tags ?? {}, failures, this.deps.now());
      return { ...(short ? { short } : {}), ...(read?.asg ? { onDemandAsg: read.asg } : {}) };
    } catch (error) {
      // the fallback cannot be judged: the spot group's own replacement is still the best bet
      action.log.warn("spot shortage could not be judged; replacing in the spot group", { group, onDemandGroup: onDemand, error: errorMessage(error) });
      return undefined;
    }
  }

  /** The on-demand group's raise, spot being short for the rule. */
  private async fallbackPlan(groups: AutoScalingGroups, rule: FallbackRule, group: string, shortfall: { short?: string; onDemandAsg?: string }): Promise<Plan | Omit<ReplacementReport, "trigger">> {
    const onDemand = rule.onDemandGroup;
    const short = shortfall.short ?? "";
    const onDemandAsg = shortfall.onDemandAsg;
    const where = { group, replacementGroup: onDemand };
    if (!onDemandAsg) return { status: "skipped", ...where, reason: `spot is short (${short}) but the on-demand group ${onDemand} has no Auto Scaling group` };
    const current = await groups.group(onDemandAsg);
    if (!current) return { status: "skipped", ...where, reason: `spot is short (${short}) but Auto Scaling does not know ${onDemandAsg}` };
    if (current.desired >= current.max) return { status: "skipped", ...where, autoScalingGroup: onDemandAsg, reason: `spot is short (${short}) and the on-demand group ${onDemand} is at its max (${current.max})` };
    return raiseByOne("on-demand-fallback", group, onDemand, onDemandAsg, current.desired, (to) => `spot is short (${short}): raise the on-demand group ${onDemand} desired ${current.desired} -> ${to} instead of replacing in ${group}`);
  }

  /** Bounds, records and sends the plan (only reports it in dry run). */
  private async send(action: Action, node: Node, trigger: ReplacementTrigger, plan: Plan): Promise<ReplacementReport> {
    const { deps } = this;
    const policy = deps.policy.replacement;
    const about = { trigger, mechanism: plan.mechanism, group: plan.group, replacementGroup: plan.replacementGroup, autoScalingGroup: plan.autoScalingGroup, ...(plan.desired ? { desired: plan.desired } : {}) };
    const nodeName = node.metadata?.name ?? "";
    let early: Promise<Awaited<ReturnType<Plan["send"]>>> | undefined;
    let recorded: Node | undefined;
    const detaching = plan.mechanism === "detach" || plan.mechanism === "detach-after-raise";
    const claiming = this.groupLocks.run(plan.replacementGroup, async (): Promise<ReplacementReport | ReplacementRecord> => {
      const nodes = await action.kube.listNodes();
      const count = inFlight(nodes, plan.replacementGroup, deps.now(), policy.cooldownSeconds * 1000, nodeName);
      // the detach that follows a raise takes capacity back: it never counts against the bound
      if (plan.mechanism !== "detach-after-raise" && count >= policy.maxExtraPerGroup) {
        return { ...about, status: "skipped", reason: `${plan.replacementGroup} already has ${count} replacements in flight (at most ${policy.maxExtraPerGroup} within ${policy.cooldownSeconds} s)` };
      }
      if (deps.policy.dryRun) {
        action.step(`request replacement: ${plan.reason}`);
        return { ...about, status: "dry-run", reason: `would ${plan.reason}` };
      }
      const record: ReplacementRecord = { eventId: action.event.eventId, mechanism: plan.mechanism, group: plan.replacementGroup, at: deps.now(), state: "sending" };
      let lost: ReplacementRecord | undefined;
      // a detach is idempotent by the group's membership: it goes out with the record, not after it
      if (detaching) {
        early = this.withOneRetry(() => plan.send(deps.groups as AutoScalingGroups));
        // its failure is read below, once the record is written; until then it must not count as unhandled
        early.catch(() => undefined);
      }
      const written = await this.host.changeNode(action, node, (current) => {
        const existing = recordOf(current);
        // another container claimed it for this event a moment ago
        if (!detaching && isRecordOf(existing, action.event.eventId) && existing?.state !== "failed" && existing?.mechanism === plan.mechanism) {
          lost = existing;
          return { abort: "claimed by another delivery" };
        }
        return { annotations: { [ANNOTATIONS.replacement]: recordValue(record) } };
      });
      if (lost) return { ...about, status: "already-requested", reason: `${lost.mechanism} was requested for event ${action.event.eventId} at ${iso(lost.at)}` };
      // the record is settled from the node as written, never from the one read before it
      recorded = written.node;
      return record;
    });
    let claimed: ReplacementReport | ReplacementRecord;
    try {
      claimed = await claiming;
    } catch (error) {
      // the record could not be written; a detach already sent still counts as sent
      if (!early) throw error;
      action.log.warn("replacement record not written", { error: errorMessage(error) });
      claimed = { eventId: action.event.eventId, mechanism: plan.mechanism, group: plan.replacementGroup, at: deps.now(), state: "sending" };
    }
    if ("status" in claimed) return claimed;

    let sent: Awaited<ReturnType<Plan["send"]>>;
    try {
      sent = await (early ?? this.withOneRetry(() => plan.send(deps.groups as AutoScalingGroups)));
    } catch (error) {
      await this.settle(action, recorded ?? nodeName, claimed, "failed");
      return this.failed(action, node, about, error);
    }
    if (sent !== "sent") {
      await this.settle(action, recorded ?? nodeName, claimed, "requested");
      return { ...about, status: "already-requested", reason: sent === "not-member" ? `the instance left ${plan.autoScalingGroup} already (an earlier delivery detached it)` : `the instance is already leaving ${plan.autoScalingGroup}` };
    }
    const requestedAt = claimed.at;
    await this.settle(action, recorded ?? nodeName, claimed, "requested");
    deps.metrics.add(METRICS.replacementsRequested, "Count", 1, { group: plan.replacementGroup, mechanism: plan.mechanism });
    action.log.info("replacement requested", { ...about, reason: plan.reason });
    action.step(`request replacement: ${plan.reason}`);
    await this.host.nodeEvent(action, node, EVENT_REASONS.replacementRequested, `Replacement for ${action.event.instanceId} requested at the ${trigger}: ${plan.reason}`);
    await this.announce(action, nodeName, trigger, plan, requestedAt);
    return { ...about, status: "requested", reason: plan.reason, requestedAt };
  }

  /**
   * Publishes the request as a Replacement Requested outcome event and tells the runtime's hook;
   * neither is ever allowed to fail the action (a hook that fails is logged).
   */
  private async announce(action: Action, node: string, trigger: ReplacementTrigger, plan: Plan, requestedAt: number): Promise<void> {
    await this.host.replacementRequested(action, {
      replacementGroup: plan.replacementGroup,
      autoScalingGroup: plan.autoScalingGroup,
      mechanism: plan.mechanism,
      fallback: plan.mechanism === "on-demand-fallback",
      ...(plan.desired ? { desiredBefore: plan.desired.from, desiredAfter: plan.desired.to } : {}),
      reason: plan.reason,
      requestedAt: iso(requestedAt),
    });
    const hook = this.deps.onReplacementRequested;
    if (!hook) return;
    try {
      await hook({
        cluster: this.deps.clusterName,
        eventId: action.event.eventId,
        trigger,
        instanceId: action.event.instanceId,
        node,
        group: plan.group,
        replacementGroup: plan.replacementGroup,
        autoScalingGroup: plan.autoScalingGroup,
        mechanism: plan.mechanism,
        ...(plan.desired ? { desired: plan.desired } : {}),
        reason: plan.reason,
        requestedAt: iso(requestedAt),
      });
    } catch (error) {
      action.log.warn("replacement hook failed", { error: errorMessage(error) });
    }
  }

  private async withOneRetry<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof RetryError)) throw error;
      await this.deps.sleep(1_000 + this.deps.random() * 1_000);
      return call();
    }
  }

  private async settle(action: Action, written: Node | string, record: ReplacementRecord, state: RecordState): Promise<void> {
    try {
      const node = typeof written === "string" ? await action.kube.getNode(written) : written;
      if (!node) return;
      await this.host.changeNode(action, node, (current) =>
        isRecordOf(recordOf(current), record.eventId) ? { annotations: { [ANNOTATIONS.replacement]: recordValue({ ...record, state }) } } : { abort: "record replaced" },
      );
    } catch (error) {
      action.log.warn("replacement record not settled", { state, error: errorMessage(error) });
    }
  }

  private async failed(action: Action, node: Node, about: Omit<ReplacementReport, "status" | "reason">, error: unknown): Promise<ReplacementReport> {
    const permanent = error instanceof PermanentError;
    const code = permanent ? error.code : ((error as { name?: string }).name ?? "Error");
    const message = errorMessage(error);
    this.deps.metrics.add(METRICS.replacementsFailed, "Count", 1, { group: about.replacementGroup ?? about.group ?? "unknown" });
    // the drain goes on: a replacement that failed is reported, the group replaces the instance once it is gone
    action.log.error("replacement not requested", { ...about, code, permanent, error: message });
    action.step(`replacement not requested: ${message}`);
    await this.host.nodeEvent(action, node, EVENT_REASONS.replacementFailed, `Replacement for ${action.event.instanceId} not requested: ${message}`, "Warning").catch(() => undefined);
    return { ...about, status: "failed", reason: `replacement not requested: ${message}`, error: { code, permanent, message } };
  }
}

/** Why spot counts as short for the rule, or undefined. */
export function shortage(rule: FallbackRule, onDemandTags: Record<string, string>, capacityFailures: string[], now: number): string | undefined {
  const since = onDemandTags[CAPACITY_TAGS.fallbackSince];
  if (since && !Number.isNaN(Date.parse(since))) return `the spot fallback is active since ${since}`;
  const shortfall = onDemandTags[CAPACITY_TAGS.shortfallSince];
  const shortfallAt = shortfall ? Date.parse(shortfall) : Number.NaN;
  if (!Number.isNaN(shortfallAt) && now - shortfallAt >= rule.shortfallMinutes * MINUTE_MS) return `spot has been short since ${shortfall}`;
  if (capacityFailures.length > 0) {
    return `${capacityFailures.length} launch${capacityFailures.length === 1 ? "" : "es"} failed for capacity in the last ${rule.capacityFailures.windowMinutes} min (${[...new Set(capacityFailures)].join(", ")})`;
  }
  return undefined;
}

function toSent(result: "detached" | "not-member" | "not-in-service"): "sent" | "not-member" | "not-in-service" {
  return result === "detached" ? "sent" : result;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Statuses after which replacement capacity is on its way. */
export function replacementComing(report: ReplacementReport | undefined): boolean {
  return report !== undefined && ["requested", "already-requested", "in-progress"].includes(report.status);
}
