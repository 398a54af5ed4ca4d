/**
 * Reads what the planner needs from AWS, read-only: DescribeNodegroup for managed node groups
 * (their bounds, status and tags), DescribeAutoScalingGroups for what is in service (for a managed
 * node group, on the Auto Scaling group EKS runs it on) and for self-managed groups' bounds and
 * tags, DescribeScalingActivities for spot groups' failed launches, and CloudWatch GetMetricData
 * for the SpotInterruptions the interruption function counts per group.
 *
 * A read that fails is recorded for its group (ObservedState.errors) and never stops the others.
 */
import { DescribeAutoScalingGroupsCommand, DescribeScalingActivitiesCommand, type AutoScalingClient, type AutoScalingGroup } from "@aws-sdk/client-auto-scaling";
import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from "@aws-sdk/client-cloudwatch";
import { DescribeNodegroupCommand, type EKSClient } from "@aws-sdk/client-eks";
import { mapWithLimit } from "../concurrency";
import { METRICS, METRICS_NAMESPACE } from "../constants";
import { errorMessage } from "../errors";
import { CAPACITY_TAG_PREFIX, INTERRUPTION_SERVICE } from "./constants";
import type { CapacityPolicy, FallbackRule } from "./policy";
import type { ObservedGroup, ObservedState, ScalingActivity } from "./state";
import { MINUTE_MS } from "./zone";

export interface CapacityReadClients {
  eks: EKSClient;
  autoscaling: AutoScalingClient;
  cloudwatch: CloudWatchClient;
}

export interface ObserverOptions {
  clusterName: string;
  /** The service dimension the interruption function writes SpotInterruptions with. */
  interruptionService?: string;
  /** Describe calls in flight at once. */
  parallelism?: number;
}

/** What the planner reads; the function uses CapacityObserver, tests may pass a fixed state. */
export interface StateSource {
  observe(policy: CapacityPolicy, now: number): Promise<ObservedState>;
}

/** What DescribeNodegroup told (managed) or which Auto Scaling group to read (self-managed). */
interface Reading {
  /** Managed node groups: EKS's scalingConfig is authoritative (never the Auto Scaling group's). */
  managed: boolean;
  min?: number;
  max?: number;
  desired?: number;
  tags?: Record<string, string>;
  status?: string;
  arn?: string;
  autoScalingGroupNames: string[];
}

const ASG_NAMES_PER_CALL = 50;
const ACTIVITIES_PER_GROUP = 50;

const ownTags = (entries: [string, string][]) => Object.fromEntries(entries.filter(([key]) => key.startsWith(CAPACITY_TAG_PREFIX)));

export class CapacityObserver implements StateSource {
  constructor(
    private readonly clients: CapacityReadClients,
    private readonly options: ObserverOptions,
  ) {}

  /** Every group of the policy, with the spot signals of the groups a fallback rule watches. */
  async observe(policy: CapacityPolicy, now: number): Promise<ObservedState> {
    const errors: Record<string, string> = {};
    const readings = new Map<string, Reading>();
    const names = Object.keys(policy.groups);
    await mapWithLimit(names, this.options.parallelism ?? 5, async (name) => {
      const spec = policy.groups[name];
      if (spec?.type === "auto-scaling-group") {
        readings.set(name, { managed: false, autoScalingGroupNames: [name] });
        return;
      }
      try {
        readings.set(name, await this.nodegroup(name));
      } catch (error) {
        errors[name] = error instanceof Error && error.name === "ResourceNotFoundException" ? `node group ${name} not found in cluster ${this.options.clusterName}` : `eks:DescribeNodegroup failed: ${errorMessage(error)}`;
      }
    });

    const asgNames = [...new Set(names.flatMap((name) => readings.get(name)?.autoScalingGroupNames ?? []))];
    const asgs = new Map<string, AutoScalingGroup>();
    let asgError: string | undefined;
    try {
      for (const group of await this.autoScalingGroups(asgNames)) if (group.AutoScalingGroupName) asgs.set(group.AutoScalingGroupName, group);
    } catch (error) {
      asgError = `autoscaling:DescribeAutoScalingGroups failed: ${errorMessage(error)}`;
    }

    const groups: Record<string, ObservedGroup> = {};
    const asgNamesOf = new Map<string, string[]>();
    for (const name of names) {
      const reading = readings.get(name);
      if (!reading) continue;
      if (asgError) {
        errors[name] = asgError;
        continue;
      }
      if (reading.autoScalingGroupNames.length === 0) {
        errors[name] = `node group ${name} has no Auto Scaling group yet`;
        continue;
      }
      const found = reading.autoScalingGroupNames.map((asg) => asgs.get(asg));
      if (found.some((g) => g === undefined)) {
        errors[name] = `Auto Scaling group ${reading.autoScalingGroupNames.filter((_, i) => !found[i]).join(", ")} not found`;
        continue;
      }
      const present = found as AutoScalingGroup[];
      const first = present[0] as AutoScalingGroup;
      const min = reading.managed ? reading.min : first.MinSize;
      const max = reading.managed ? reading.max : first.MaxSize;
      const desired = reading.managed ? reading.desired : first.DesiredCapacity;
      if (min === undefined || max === undefined || desired === undefined) {
        errors[name] = `${reading.managed ? "eks:DescribeNodegroup" : "autoscaling:DescribeAutoScalingGroups"} answered without min, max and desired`;
        continue;
      }
      groups[name] = {
        min,
        max,
        desired,
        inService: present.reduce((sum, g) => sum + (g.Instances ?? []).filter((i) => i.LifecycleState === "InService").length, 0),
        tags: reading.tags ?? ownTags((first.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""])),
        autoScalingGroupName: first.AutoScalingGroupName ?? name,
        ...(reading.status ? { status: reading.status } : {}),
        ...(reading.arn ? { arn: reading.arn } : {}),
      };
      asgNamesOf.set(name, reading.autoScalingGroupNames);
    }

    await this.spotSignals(policy, groups, asgNamesOf, errors, now);
    return { groups, ...(Object.keys(errors).length > 0 ? { errors } : {}) };
  }

  private async nodegroup(name: string): Promise<Reading> {
    const answer = await this.clients.eks.send(new DescribeNodegroupCommand({ clusterName: this.options.clusterName, nodegroupName: name }));
    const group = answer.nodegroup;
    const scaling = group?.scalingConfig;
    return {
      managed: true,
      ...(scaling?.minSize !== undefined ? { min: scaling.minSize } : {}),
      ...(scaling?.maxSize !== undefined ? { max: scaling.maxSize } : {}),
      ...(scaling?.desiredSize !== undefined ? { desired: scaling.desiredSize } : {}),
      tags: ownTags(Object.entries(group?.tags ?? {})),
      ...(group?.status ? { status: group.status } : {}),
      ...(group?.nodegroupArn ? { arn: group.nodegroupArn } : {}),
      autoScalingGroupNames: (group?.resources?.autoScalingGroups ?? []).map((g) => g.name ?? "").filter(Boolean),
    };
  }

  private async autoScalingGroups(names: string[]): Promise<AutoScalingGroup[]> {
    const found: AutoScalingGroup[] = [];
    for (let i = 0; i < names.length; i += ASG_NAMES_PER_CALL) {
      let nextToken: string | undefined;
      do {
        const answer = await this.clients.autoscaling.send(
          new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: names.slice(i, i + ASG_NAMES_PER_CALL), ...(nextToken ? { NextToken: nextToken } : {}) }),
        );
        found.push(...(answer.AutoScalingGroups ?? []));
        nextToken = answer.NextToken;
      } while (nextToken);
    }
    return found;
  }

  /** Scaling activities and interruption counts for the spot groups a fallback rule watches. */
  private async spotSignals(policy: CapacityPolicy, groups: Record<string, ObservedGroup>, asgNamesOf: Map<string, string[]>, errors: Record<string, string>, now: number): Promise<void> {
    const watched = policy.fallbacks.flatMap((rule) => rule.spotGroups.filter((name) => groups[name]).map((name) => ({ name, rule })));
    await mapWithLimit(watched, this.options.parallelism ?? 5, async ({ name, rule }) => {
      const group = groups[name] as ObservedGroup;
      try {
        group.activities = await this.activities(asgNamesOf.get(name) ?? [name], now - rule.capacityFailures.windowMinutes * MINUTE_MS);
      } catch (error) {
        errors[name] = `autoscaling:DescribeScalingActivities failed: ${errorMessage(error)}`;
      }
    });
    const counted = watched.filter(({ rule }) => rule.interruptions.enabled);
    if (counted.length === 0) return;
    try {
      const counts = await this.interruptions(counted, now);
      for (const { name } of counted) (groups[name] as ObservedGroup).interruptions = counts.get(name) ?? 0;
    } catch (error) {
      for (const { name } of counted) errors[name] = [errors[name], `cloudwatch:GetMetricData failed: ${errorMessage(error)}`].filter(Boolean).join("; ");
    }
  }

  private async activities(autoScalingGroupNames: string[], since: number): Promise<ScalingActivity[]> {
    const activities: ScalingActivity[] = [];
    for (const asg of autoScalingGroupNames) {
      // newest first: one page reaches back far enough for a window of minutes
      const answer = await this.clients.autoscaling.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: asg, MaxRecords: ACTIVITIES_PER_GROUP }));
      for (const activity of answer.Activities ?? []) {
        if (!activity.StartTime || activity.StartTime.getTime() < since) continue;
        const message = activity.StatusMessage ?? activity.Description;
        activities.push({ start: activity.StartTime, status: activity.StatusCode ?? "Unknown", ...(message ? { message } : {}) });
      }
    }
    return activities;
  }

  /** SpotInterruptions per group, summed over each rule's window, in one GetMetricData call. */
  private async interruptions(watched: { name: string; rule: FallbackRule }[], now: number): Promise<Map<string, number>> {
    const longest = Math.max(...watched.map(({ rule }) => rule.interruptions.windowMinutes));
    const end = Math.ceil(now / MINUTE_MS) * MINUTE_MS;
    const queries: MetricDataQuery[] = watched.map(({ name }, index) => ({
      Id: `g${index}`,
      Label: name,
      ReturnData: true,
      MetricStat: {
        Metric: {
          Namespace: METRICS_NAMESPACE,
          MetricName: METRICS.spotInterruptions,
          Dimensions: [
            { Name: "cluster", Value: this.options.clusterName },
            { Name: "group", Value: name },
            { Name: "service", Value: this.options.interruptionService ?? INTERRUPTION_SERVICE },
          ],
        },
        Period: 60,
        Stat: "Sum",
      },
    }));
    const counts = new Map<string, number>();
    let nextToken: string | undefined;
    do {
      const answer = await this.clients.cloudwatch.send(
        new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: new Date(end - longest * MINUTE_MS), EndTime: new Date(end), ...(nextToken ? { NextToken: nextToken } : {}) }),
      );
      for (const result of answer.MetricDataResults ?? []) {
        const index = Number(result.Id?.slice(1));
        const entry = watched[index];
        if (!entry) continue;
        if (result.StatusCode === "Forbidden" || result.StatusCode === "InternalError") throw new Error(`${entry.name}: ${result.StatusCode} ${(result.Messages ?? []).map((m) => m.Value).join(" ")}`.trim());
        const from = end - entry.rule.interruptions.windowMinutes * MINUTE_MS;
        const values = result.Values ?? [];
        const sum = (result.Timestamps ?? []).reduce((total, time, i) => (time.getTime() >= from ? total + (values[i] ?? 0) : total), 0);
        counts.set(entry.name, (counts.get(entry.name) ?? 0) + sum);
      }
      nextToken = answer.NextToken;
    } while (nextToken);
    return counts;
  }
}
