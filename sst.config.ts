import { Aspects } from "aws-cdk-lib";
import type { SSTConfig } from "sst";
import { Capacity } from "./stacks/Capacity";
import { Cluster } from "./stacks/Cluster";
import { Delivery } from "./stacks/Delivery";
import { Drills } from "./stacks/Drills";
import { Interruptions } from "./stacks/Interruptions";
import { Observability } from "./stacks/Observability";
import { RetainData } from "./stacks/retention";
import { useStageConfig } from "./stacks/stage";

export default {
  config() {
    return { name: "spot-manager", region: process.env["AWS_REGION"] ?? "us-west-2" };
  },
  stacks(app) {
    // `sst remove` removes the stage; a stage with retainOnDelete (prod) keeps only its data, and
    // nothing it keeps carries a name a redeploy would need again (see stacks/retention.ts)
    app.setDefaultRemovalPolicy("destroy");
    if (useStageConfig(app.stage).retainOnDelete) Aspects.of(app).add(new RetainData());
    // dependency order: the cluster, the topic every function publishes to, then what uses them
    app.stack(Cluster).stack(Observability).stack(Interruptions).stack(Capacity).stack(Delivery).stack(Drills);
  },
} satisfies SSTConfig;
