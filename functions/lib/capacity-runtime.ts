/**
 * Everything the capacity function needs, built once per cold start: AWS clients, the observer
 * that reads the groups, the applier that changes them, and the notifier. Tests build it with
 * their own (mocked) clients and clock.
 */
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { EKSClient } from "@aws-sdk/client-eks";
import { SNSClient } from "@aws-sdk/client-sns";
import {
  CapacityApplier,
  CapacityObserver,
  noCapacityNotifications,
  SnsCapacityNotifier,
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
}

export function createCapacityClients(region: string): CapacityClients {
  const config = { region };
  return { eks: new EKSClient(config), autoscaling: new AutoScalingClient(config), cloudwatch: new CloudWatchClient(config), sns: new SNSClient(config) };
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
  return {
    config,
    log,
    metrics,
    deps: {
      source: new CapacityObserver(clients, { clusterName: config.clusterName }),
      writer: new CapacityApplier(clients, { clusterName: config.clusterName }),
      notifier: config.topicArn ? new SnsCapacityNotifier(clients.sns, config.topicArn) : noCapacityNotifications,
      log,
      metrics,
      now: options.now ?? Date.now,
    },
  };
}
