import type { SSTConfig } from "sst";
import { Capacity } from "./stacks/Capacity";
import { Cluster } from "./stacks/Cluster";
import { Delivery } from "./stacks/Delivery";
import { Drills } from "./stacks/Drills";
import { Interruptions } from "./stacks/Interruptions";
import { Observability } from "./stacks/Observability";
import { useStageConfig } from "./stacks/stage";

export default {
  config() {
    return { name: "spot-manager", region: process.env["AWS_REGION"] ?? "us-west-2" };
  },
  stacks(app) {
    if (useStageConfig(app.stage).retainOnDelete) app.setDefaultRemovalPolicy("retain");
    else app.setDefaultRemovalPolicy("destroy");
    // dependency order: the cluster, the topic every function publishes to, then what uses them
    app.stack(Cluster).stack(Observability).stack(Interruptions).stack(Capacity).stack(Delivery).stack(Drills);
  },
} satisfies SSTConfig;
