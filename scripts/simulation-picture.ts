/**
 * Renders the README's picture of a simulation: plays a scenario with `spot-manager simulate
 * --html`, opens the page in headless Chromium and saves it as PNG.
 *
 *   npm run picture -- [--scenario mass-reclaim] [--out docs/simulation.png]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { main } from "../packages/cli/src/index";
import { chromiumMissing, launchChromium, locateChromium } from "../test/browser/chromium";

const { values } = parseArgs({ options: { scenario: { type: "string", default: "mass-reclaim" }, out: { type: "string", default: "docs/simulation.png" }, "time-scale": { type: "string", default: "0.05" } } });
const chromium = locateChromium();
if (!chromium.path) throw new Error(chromiumMissing(chromium.searched));
const dir = await mkdtemp(join(tmpdir(), "spot-manager-picture-"));
try {
  const page = join(dir, "simulation.html");
  // the first run in a process also pays for loading and compiling the handler's modules, which
  // the scaled clock would show as seconds before the cordon: the picture is of the second run
  const simulate = (...extra: string[]) => main(["node", "spot-manager", "simulate", "--scenario", values.scenario, "--time-scale", values["time-scale"], "--json", ...extra]);
  await simulate();
  const code = await simulate("--html", page);
  if (code !== 0) throw new Error(`spot-manager simulate exited with ${code}`);
  const browser = await launchChromium(chromium.path);
  try {
    const tab = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    await tab.goto(pathToFileURL(page).href);
    await tab.screenshot({ path: values.out, fullPage: true });
    process.stdout.write(`wrote ${values.out}\n`);
  } finally {
    await browser.close();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
