#!/usr/bin/env node
// Runs the TypeScript sources directly; there is no separate build step for the command.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv);
