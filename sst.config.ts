import type { SSTConfig } from "sst";

export default {
  config() {
    return { name: "spot-manager", region: process.env["AWS_REGION"] ?? "us-west-2" };
  },
  stacks() {
    // Stacks are registered here in dependency order as they are added.
  },
} satisfies SSTConfig;
