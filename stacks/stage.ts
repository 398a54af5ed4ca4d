/** The stage's validated configuration, read once per synth and shared by every stack. */
import { deepMerge, loadStageConfig, parseStageConfig, stageDefaults, type StageConfig } from "./config";

const loaded = new Map<string, StageConfig>();

export function useStageConfig(stage: string): StageConfig {
  let config = loaded.get(stage);
  if (!config) {
    config = loadStageConfig(stage);
    loaded.set(stage, config);
  }
  return config;
}

/** Uses these settings (merged over the stage's defaults) instead of config/<stage>.json. */
export function overrideStageConfig(stage: string, override: unknown): StageConfig {
  const config = parseStageConfig(stage, deepMerge(stageDefaults(stage), override));
  loaded.set(stage, config);
  return config;
}
