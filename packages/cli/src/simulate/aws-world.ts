/**
 * AWS, faked in memory for the local simulation and the tests: EC2 knows the instances behind the
 * cluster's nodes (plus any added), Auto Scaling records lifecycle calls, SNS keeps notifications,
 * SQS and EventBridge Scheduler keep follow-ups, EventBridge keeps the events put on its buses.
 * Real SDK clients, their `send` answered by aws-sdk-client-mock, so the code under test builds
 * real commands; every command is first held to its service's published API contract
 * (`@spot-manager/aws-fakes`), and refused as AWS would.
 */
import { randomUUID } from "node:crypto";
import { AutoScalingClient, CompleteLifecycleActionCommand, RecordLifecycleActionHeartbeatCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeInstancesCommand, EC2Client, type Instance } from "@aws-sdk/client-ec2";
import { DescribeClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry, type PutEventsResultEntry } from "@aws-sdk/client-eventbridge";
import { CreateScheduleCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { STSClient } from "@aws-sdk/client-sts";
import { mockClient, type ModelsPolicy } from "@spot-manager/aws-fakes";
import type { AwsClientStub } from "aws-sdk-client-mock";

export interface FakeInstance {
  instanceId: string;
  privateDnsName: string;
  availabilityZone: string;
  instanceType: string;
  lifecycle: "spot" | "on-demand";
  tags: Record<string, string>;
  state?: string;
  /** When EC2 last started the instance (it moves on a start after a stop). */
  launchTime?: Date;
}

export interface NodeLike {
  metadata: { name?: string; labels?: Record<string, string> };
  spec?: unknown;
}

export const AWS_REGION = "us-west-2";

/** Static example credentials: nothing here ever reaches AWS, and no credential chain is consulted. */
const CREDENTIALS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };

export class AwsWorld {
  readonly instances = new Map<string, FakeInstance>();
  readonly clients = {
    ec2: new EC2Client({ region: AWS_REGION, credentials: CREDENTIALS }),
    autoscaling: new AutoScalingClient({ region: AWS_REGION, credentials: CREDENTIALS }),
    sns: new SNSClient({ region: AWS_REGION, credentials: CREDENTIALS }),
    sqs: new SQSClient({ region: AWS_REGION, credentials: CREDENTIALS }),
    scheduler: new SchedulerClient({ region: AWS_REGION, credentials: CREDENTIALS }),
    eks: new EKSClient({ region: AWS_REGION, credentials: CREDENTIALS }),
    sts: new STSClient({ region: AWS_REGION, credentials: CREDENTIALS }),
    eventbridge: new EventBridgeClient({ region: AWS_REGION, credentials: CREDENTIALS }),
  };
  readonly ec2: AwsClientStub<EC2Client>;
  readonly autoscaling: AwsClientStub<AutoScalingClient>;
  readonly sns: AwsClientStub<SNSClient>;
  readonly sqs: AwsClientStub<SQSClient>;
  readonly scheduler: AwsClientStub<SchedulerClient>;
  readonly eks: AwsClientStub<EKSClient>;
  readonly eventbridge: AwsClientStub<EventBridgeClient>;
  /** Events EventBridge accepted, as a rule's target would receive them, with the bus they were put on. */
  readonly busEvents: { bus: string; event: Record<string, unknown> }[] = [];
  /** Answers for the next PutEvents calls: the call fails with an error, or each entry gets an error code (undefined: accepted). */
  private readonly putEventsAnswers: (Error | ((entry: PutEventsRequestEntry) => string | undefined))[] = [];
  /** Who hears of each event a bus accepted (its rules, in a test that routes them). */
  private readonly busListeners: ((bus: string, event: Record<string, unknown>) => void)[] = [];
  /** Lifecycle actions already completed (by token): a second completion fails as Auto Scaling's does. */
  private readonly completedTokens = new Set<string>();

  /** `models`: "required" (tests) fails every request when AWS's API models are not installed; "when-available" lets them through unchecked. */
  constructor(options: { models?: ModelsPolicy } = {}) {
    const checked = { models: options.models ?? "required" };
    this.ec2 = mockClient(this.clients.ec2, checked);
    this.autoscaling = mockClient(this.clients.autoscaling, checked);
    this.sns = mockClient(this.clients.sns, checked);
    this.sqs = mockClient(this.clients.sqs, checked);
    this.scheduler = mockClient(this.clients.scheduler, checked);
    this.eks = mockClient(this.clients.eks, checked);
    this.eventbridge = mockClient(this.clients.eventbridge, checked);
    this.eventbridge.on(PutEventsCommand).callsFake((input: { Entries?: PutEventsRequestEntry[] }) => this.putEvents(input.Entries ?? []));
    this.ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => this.describe(input.InstanceIds ?? []));
    this.autoscaling.on(CompleteLifecycleActionCommand).callsFake((input: { LifecycleActionToken?: string }) => {
      const token = input.LifecycleActionToken ?? "";
      if (this.completedTokens.has(token)) {
        throw Object.assign(new Error("No active Lifecycle Action found with token " + token), { name: "ValidationError" });
      }
      this.completedTokens.add(token);
      return {};
    });
    this.autoscaling.on(RecordLifecycleActionHeartbeatCommand).resolves({});
    let messageNumber = 0;
    this.sns.on(PublishCommand).callsFake(() => ({ MessageId: `msg-${(messageNumber += 1)}` }));
    this.sqs.on(SendMessageCommand).callsFake(() => ({ MessageId: `sqs-${(messageNumber += 1)}` }));
    this.sqs.on(ChangeMessageVisibilityCommand).resolves({});
    this.scheduler.on(CreateScheduleCommand).callsFake((input: { Name?: string }) => ({ ScheduleArn: `arn:aws:scheduler:${AWS_REGION}:123456789012:schedule/default/${input.Name}` }));
  }

  /** Adds the instances behind nodes (providerID aws:///<az>/<id>), tagged for the cluster. */
  addNodes(nodes: NodeLike[], clusterName: string): void {
    for (const node of nodes) {
      const providerID = (node.spec as { providerID?: string } | undefined)?.providerID ?? "";
      const match = /^aws:\/\/\/([\w-]+)\/(i-[0-9a-f]+)$/.exec(providerID);
      if (!match) continue;
      const labels = node.metadata.labels ?? {};
      this.instances.set(match[2] as string, {
        instanceId: match[2] as string,
        privateDnsName: node.metadata.name ?? "",
        availabilityZone: match[1] as string,
        instanceType: labels["node.kubernetes.io/instance-type"] ?? "m6i.large",
        lifecycle: labels["eks.amazonaws.com/capacityType"] === "SPOT" ? "spot" : "on-demand",
        tags: {
          "eks:cluster-name": clusterName,
          [`kubernetes.io/cluster/${clusterName}`]: "owned",
          ...(labels["eks.amazonaws.com/nodegroup"] ? { "eks:nodegroup-name": labels["eks.amazonaws.com/nodegroup"] } : {}),
        },
      });
    }
  }

  addInstance(instance: FakeInstance): void {
    this.instances.set(instance.instanceId, instance);
  }

  /** Moves an instance to another EC2 state (a start from stopped also moves its launch time). */
  setState(instanceId: string, state: string, launchTime?: Date): void {
    const instance = this.instances.get(instanceId);
    if (!instance) throw new Error(`no instance ${instanceId} in the fake EC2`);
    instance.state = state;
    if (launchTime) instance.launchTime = launchTime;
  }

  /** Makes EKS describe a cluster whose API is at `endpoint`, signed by `caPem`; the first calls may fail first. */
  serveCluster(name: string, endpoint: string, caPem: string, failFirst: readonly unknown[] = []): void {
    let failures = [...failFirst];
    this.eks.on(DescribeClusterCommand, { name }).callsFake(() => {
      const failure = failures[0];
      if (failure !== undefined) {
        failures = failures.slice(1);
        throw failure;
      }
      return {
        cluster: { name, status: "ACTIVE", version: "1.32", endpoint, arn: `arn:aws:eks:${AWS_REGION}:123456789012:cluster/${name}`, certificateAuthority: { data: Buffer.from(caPem).toString("base64") } },
      };
    });
  }

  /** Notifications published so far, parsed. */
  notifications(): Record<string, unknown>[] {
    return this.sns.commandCalls(PublishCommand).map((call) => JSON.parse(call.args[0].input.Message ?? "{}") as Record<string, unknown>);
  }

  /** Follow-up messages sent to the queue, with their delay. */
  queuedFollowUps(): { body: Record<string, unknown>; delaySeconds: number }[] {
    return this.sqs
      .commandCalls(SendMessageCommand)
      .filter((call) => call.args[0].input.MessageAttributes?.["errorCode"] === undefined)
      .map((call) => ({
        body: JSON.parse(call.args[0].input.MessageBody ?? "{}") as Record<string, unknown>,
        delaySeconds: call.args[0].input.DelaySeconds ?? 0,
      }));
  }

  /** Records the function sent straight to a dead-letter queue, with the reason it gave. */
  deadLettered(): { queueUrl: string; body: string; error: string; errorCode: string; sourceMessageId: string }[] {
    return this.sqs
      .commandCalls(SendMessageCommand)
      .filter((call) => call.args[0].input.MessageAttributes?.["errorCode"] !== undefined)
      .map((call) => {
        const input = call.args[0].input;
        const attribute = (name: string) => input.MessageAttributes?.[name]?.StringValue ?? "";
        return { queueUrl: input.QueueUrl ?? "", body: input.MessageBody ?? "", error: attribute("error"), errorCode: attribute("errorCode"), sourceMessageId: attribute("sourceMessageId") };
      });
  }

  /**
   * Makes the next PutEvents call fail some of its entries, as EventBridge does (FailedEntryCount,
   * an ErrorCode per failed entry): `failWith` names the code for an entry, or undefined to accept it.
   */
  failPutEvents(failWith: (entry: PutEventsRequestEntry) => string | undefined): void {
    this.putEventsAnswers.push(failWith);
  }

  /** Makes the next PutEvents call fail as a whole (after the SDK's own retries), e.g. a timeout. */
  failPutEventsCall(error: Error): void {
    this.putEventsAnswers.push(error);
  }

  /** Calls `listener` with every event a bus accepts from now on (the bus as PutEvents named it). */
  onBusEvent(listener: (bus: string, event: Record<string, unknown>) => void): void {
    this.busListeners.push(listener);
  }

  /** Events put on a bus (`default` unless named), as its rules' targets receive them. */
  eventsOnBus(bus = "default"): Record<string, unknown>[] {
    return this.busEvents.filter((e) => e.bus === bus || e.bus.endsWith(`:event-bus/${bus}`)).map((e) => e.event);
  }

  restore(): void {
    for (const stub of [this.ec2, this.autoscaling, this.sns, this.sqs, this.scheduler, this.eks, this.eventbridge]) stub.restore();
  }

  private putEvents(entries: PutEventsRequestEntry[]) {
    const answer = this.putEventsAnswers.shift();
    if (answer instanceof Error) throw answer;
    const results: PutEventsResultEntry[] = entries.map((entry) => {
      const code = answer?.(entry);
      if (code) return { ErrorCode: code, ErrorMessage: `${code} (faked)` };
      const id = randomUUID();
      const bus = entry.EventBusName ?? "default";
      const account = /^arn:aws[\w-]*:events:[^:]+:(\d{12}):/.exec(bus)?.[1] ?? "123456789012";
      const accepted = {
        bus,
        event: {
          version: "0",
          id,
          "detail-type": entry.DetailType,
          source: entry.Source,
          account,
          time: (entry.Time ?? new Date()).toISOString().replace(/\.\d{3}Z$/, "Z"),
          region: AWS_REGION,
          resources: entry.Resources ?? [],
          detail: JSON.parse(entry.Detail ?? "{}") as unknown,
        },
      };
      this.busEvents.push(accepted);
      for (const listener of this.busListeners) listener(accepted.bus, accepted.event);
      return { EventId: id };
    });
    return { FailedEntryCount: results.filter((r) => r.ErrorCode).length, Entries: results };
  }

  private describe(ids: string[]) {
    const unknown = ids.filter((id) => !this.instances.has(id));
    if (unknown.length > 0) {
      throw Object.assign(new Error(`The instance ID '${unknown.join(", ")}' does not exist`), { name: "InvalidInstanceID.NotFound" });
    }
    const instances: Instance[] = ids.map((id) => {
      const i = this.instances.get(id) as FakeInstance;
      return {
        InstanceId: i.instanceId,
        PrivateDnsName: i.privateDnsName,
        InstanceType: i.instanceType as Instance["InstanceType"],
        Placement: { AvailabilityZone: i.availabilityZone },
        State: { Name: (i.state ?? "running") as NonNullable<Instance["State"]>["Name"] },
        ...(i.launchTime ? { LaunchTime: i.launchTime } : {}),
        ...(i.lifecycle === "spot" ? { InstanceLifecycle: "spot" as const } : {}),
        Tags: Object.entries(i.tags).map(([Key, Value]) => ({ Key, Value })),
      };
    });
    return { Reservations: [{ Instances: instances }] };
  }
}
