/** The stage's validated configuration, read once per synth and shared by every stack. */
import { loadStageConfig, type StageConfig } from "./config";

const loaded = new Map<string, StageConfig>();

export function useStageConfig(stage: string): StageConfig {
  let config = loaded.get(stage);
  if (!config) {
    config = loadStageConfig(stage);
    loaded.set(stage, config);
  }
  return config;
}
