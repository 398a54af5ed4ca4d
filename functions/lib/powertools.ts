/** Powertools for AWS Lambda behind core's ports: JSON logs, and EMF metrics with per-point dimensions. */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics as PowertoolsMetrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { METRICS_NAMESPACE, type Log, type MetricUnit as CoreUnit, type Metrics } from "@spot-manager/core";

/** A Powertools JSON logger behind core's Log port. */
export function createLogger(serviceName: string): Log & { powertools: Logger } {
  const logger = new Logger({ serviceName });
  return {
    powertools: logger,
    debug: (message, extra) => logger.debug(message, extra ?? {}),
    info: (message, extra) => logger.info(message, extra ?? {}),
    warn: (message, extra) => logger.warn(message, extra ?? {}),
    error: (message, extra) => logger.error(message, extra ?? {}),
  };
}

const UNITS: Record<CoreUnit, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  Count: MetricUnit.Count,
  Seconds: MetricUnit.Seconds,
  Milliseconds: MetricUnit.Milliseconds,
};

export class EmfMetrics implements Metrics {
  readonly powertools: PowertoolsMetrics;
  constructor(serviceName: string, defaultDimensions: Record<string, string>) {
    this.powertools = new PowertoolsMetrics({ namespace: METRICS_NAMESPACE, serviceName, defaultDimensions });
  }
  add(name: string, unit: CoreUnit, value: number, dimensions: Record<string, string> = {}): void {
    if (Object.keys(dimensions).length === 0) {
      this.powertools.addMetric(name, UNITS[unit], value);
      return;
    }
    // points with their own dimensions are emitted as their own EMF document
    const single = this.powertools.singleMetric();
    single.addDimensions(dimensions);
    single.addMetric(name, UNITS[unit], value);
  }
  flush(): void {
    this.powertools.publishStoredMetrics();
  }
}
