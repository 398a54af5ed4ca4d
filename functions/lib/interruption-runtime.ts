/**
 * Everything the interruption function needs, built once per cold start: AWS clients, the EKS
 * endpoint and token, the Kubernetes gateway and the pipeline. Tests and the local simulation
 * build it with their own clients and a kube-local endpoint.
 */
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { EC2Client } from "@aws-sdk/client-ec2";
import { EKSClient } from "@aws-sdk/client-eks";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import { STSClient } from "@aws-sdk/client-sts";
import {
  AutoScalingGroups,
  ClusterEndpointCache,
  EksTokenProvider,
  EventBridgeOutcomes,
  EventRecorder,
  InstanceDirectory,
  InterruptionPipeline,
  KubeApi,
  KubeGateway,
  LifecycleActions,
  noNotifications,
  noOutcomes,
  QueueFollowUps,
  RetryError,
  SnsNotifier,
  type FollowUpScheduler,
  type ActionReport,
  type KubeEndpoint,
  type Log,
  type Metrics,
  type PipelineDeps,
  type ReplacementRequested,
} from "@spot-manager/core";
import type { InterruptionConfig } from "./env";

export interface AwsClients {
  ec2: EC2Client;
  autoscaling: AutoScalingClient;
  sns: SNSClient;
  sqs: SQSClient;
  scheduler: SchedulerClient;
  eks: EKSClient;
  sts: STSClient;
  eventbridge: EventBridgeClient;
}

/**
 * Every AWS client answers within seconds or fails: a connection must open within 2 s and a
 * request finish within 5 s, three attempts at most (the SDK's standard retries, which leave
 * client errors such as AccessDenied alone). A hung dependency cannot eat a spot warning's two minutes.
 */
export const AWS_CLIENT_SETTINGS = {
  maxAttempts: 3,
  retryMode: "standard",
  requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
} as const;

export function createAwsClients(region: string): AwsClients {
  const config = { region, ...AWS_CLIENT_SETTINGS };
  return {
    ec2: new EC2Client(config),
    autoscaling: new AutoScalingClient(config),
    sns: new SNSClient(config),
    sqs: new SQSClient(config),
    scheduler: new SchedulerClient(config),
    eks: new EKSClient(config),
    sts: new STSClient(config),
    eventbridge: new EventBridgeClient(config),
  };
}

export interface InterruptionRuntime {
  config: InterruptionConfig;
  clients: AwsClients;
  kube: KubeApi;
  /** Kubernetes Events, written in the background: the handler waits for them before it answers. */
  events: EventRecorder;
  log: Log;
  metrics: Metrics & { flush?(): void };
  now: () => number;
  onReport?: (report: ActionReport) => void;
  /** The pipeline, or its dry-run twin (for drills that must change nothing). */
  pipeline(dryRun: boolean): InterruptionPipeline;
}

export interface RuntimeOptions {
  config: InterruptionConfig;
  clients: AwsClients;
  log: Log;
  metrics: Metrics & { flush?(): void };
  /** The Kubernetes API to use; by default the EKS cluster's endpoint with an IAM token. */
  kubeEndpoint?: KubeEndpoint;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Called with every action report (the local simulation uses it). */
  onReport?: (report: ActionReport) => void;
  /** Told once per replacement capacity actually requested: where the "Replacement Requested" outcome event is published. */
  onReplacementRequested?: (requested: ReplacementRequested) => Promise<void> | void;
}

/** Resolves the EKS endpoint (DescribeCluster) and signs tokens with the function's role. */
async function eksEndpoint(config: InterruptionConfig, clients: AwsClients): Promise<KubeEndpoint> {
  const cluster = await new ClusterEndpointCache(clients.eks).get(config.clusterName);
  const tokens = new EksTokenProvider({ clusterName: config.clusterName, region: config.region, credentials: clients.sts.config.credentials });
  return { server: cluster.server, caPem: cluster.caPem, token: () => tokens.token(), invalidateToken: () => tokens.invalidate() };
}

function followUpsFor(config: InterruptionConfig, clients: AwsClients, now: () => number, log: Log): FollowUpScheduler {
  if (!config.queueUrl) {
    return {
      schedule: async (followUp) => {
        // never drop the rest of the work silently: the record goes back (and, in the end, to the DLQ)
        log.error("follow-up cannot be scheduled: QUEUE_URL is not configured", { followUp: followUp.action, instanceId: followUp.event.instanceId });
        throw new RetryError(`follow-up ${followUp.action} for ${followUp.event.instanceId} cannot be scheduled: QUEUE_URL is not configured`);
      },
    };
  }
  return new QueueFollowUps(clients.sqs, {
    queueUrl: config.queueUrl,
    now,
    ...(config.scheduler ? { scheduler: { client: clients.scheduler, ...config.scheduler } } : {}),
  });
}

export async function createInterruptionRuntime(options: RuntimeOptions): Promise<InterruptionRuntime> {
  const { config, clients, log, metrics } = options;
  const now = options.now ?? Date.now;
  const endpoint = options.kubeEndpoint ?? (await eksEndpoint(config, clients));
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const kube = new KubeApi(new KubeGateway(endpoint, { now, sleep }));
  const events = new EventRecorder(kube, { instance: config.functionName, now: () => new Date(now()), log });
  const base: Omit<PipelineDeps, "policy"> = {
    clusterName: config.clusterName,
    kube,
    instances: new InstanceDirectory(clients.ec2),
    lifecycle: new LifecycleActions(clients.autoscaling),
    notifier: config.topicArn ? new SnsNotifier(clients.sns, config.topicArn, log) : noNotifications,
    outcomes: config.eventBus ? new EventBridgeOutcomes(clients.eventbridge, { eventBus: config.eventBus, log, metrics, now, sleep, ...(options.random ? { random: options.random } : {}) }) : noOutcomes,
    followUps: followUpsFor(config, clients, now, log),
    recorder: events,
    log,
    metrics,
    now,
    sleep,
    random: options.random ?? Math.random,
    groups: new AutoScalingGroups(clients.autoscaling, clients.eks),
    ...(config.capacityPolicy ? { capacityPolicy: config.capacityPolicy } : {}),
    ...(options.onReplacementRequested ? { onReplacementRequested: options.onReplacementRequested } : {}),
  };
  const pipelines = new Map<boolean, InterruptionPipeline>();
  return {
    config,
    clients,
    kube,
    events,
    log,
    metrics,
    now,
    ...(options.onReport ? { onReport: options.onReport } : {}),
    pipeline(dryRun: boolean) {
      const effective = dryRun || config.policy.dryRun;
      let pipeline = pipelines.get(effective);
      if (!pipeline) {
        pipeline = new InterruptionPipeline({ ...base, policy: { ...config.policy, dryRun: effective } });
        pipelines.set(effective, pipeline);
      }
      return pipeline;
    },
  };
}
