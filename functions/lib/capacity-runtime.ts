/**
 * Everything the capacity function needs, built once per cold start: AWS clients, the observer
 * that reads the groups, the applier that changes them, and the notifier. Tests build it with
 * their own (mocked) clients and clock.
 */
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { EKSClient } from "@aws-sdk/client-eks";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SNSClient } from "@aws-sdk/client-sns";
import {
  CapacityApplier,
  CapacityObserver,
  EventBridgeOutcomes,
  noCapacityNotifications,
  SnsCapacityNotifier,
  withFallbackOutcomes,
  type CapacityRunDeps,
  type Log,
  type Metrics,
} from "@spot-manager/core";
import type { CapacityConfig } from "./capacity-env";

export interface CapacityClients {
  eks: EKSClient;
  autoscaling: AutoScalingClient;
  cloudwatch: CloudWatchClient;
  sns: SNSClient;
  /** For outcome events (made from the region when absent). */
  eventbridge?: EventBridgeClient;
}

export function createCapacityClients(region: string): CapacityClients {
  const config = { region };
  return { eks: new EKSClient(config), autoscaling: new AutoScalingClient(config), cloudwatch: new CloudWatchClient(config), sns: new SNSClient(config), eventbridge: new EventBridgeClient(config) };
}

export interface CapacityRuntime {
  config: CapacityConfig;
  deps: CapacityRunDeps;
  log: Log;
  metrics: Metrics & { flush?(): void };
}

export interface CapacityRuntimeOptions {
  config: CapacityConfig;
  clients: CapacityClients;
  log: Log;
  metrics: Metrics & { flush?(): void };
  now?: () => number;
}

export function createCapacityRuntime(options: CapacityRuntimeOptions): CapacityRuntime {
  const { config, clients, log, metrics } = options;
  const now = options.now ?? Date.now;
  const notifier = config.topicArn ? new SnsCapacityNotifier(clients.sns, config.topicArn) : noCapacityNotifications;
  const outcomes = config.eventBus ? new EventBridgeOutcomes(clients.eventbridge ?? new EventBridgeClient({ region: config.region }), { eventBus: config.eventBus, log, metrics, now }) : undefined;
  return {
    config,
    log,
    metrics,
    deps: {
      source: new CapacityObserver(clients, { clusterName: config.clusterName }),
      writer: new CapacityApplier(clients, { clusterName: config.clusterName }),
      // Capacity Fallback Started / Ended go out with the notification, once it was accepted
      notifier: outcomes ? withFallbackOutcomes(notifier, outcomes) : notifier,
      log,
      metrics,
      now,
    },
  };
}
