/**
 * What core needs from logging and metrics, as small ports: Powertools' Logger satisfies `Log`;
 * the functions adapt Powertools' Metrics to `Metrics`. Tests pass recorders.
 */

export interface Log {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

export type MetricUnit = "Count" | "Seconds" | "Milliseconds";

export interface Metrics {
  /** Adds a data point; dimensions narrow it (e.g. kind, reason). */
  add(name: string, unit: MetricUnit, value: number, dimensions?: Record<string, string>): void;
}

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

export const noMetrics: Metrics = { add() {} };

/** The same metrics, every point with these dimensions too (a drill's points carry `drill: "true"`). */
export function withDimensions(metrics: Metrics, extra: Record<string, string>): Metrics {
  return { add: (name, unit, value, dimensions = {}) => metrics.add(name, unit, value, { ...dimensions, ...extra }) };
}

/** Keeps what was logged and measured, for tests and the local simulation. */
export class Recorder implements Log, Metrics {
  readonly lines: { level: string; message: string; extra: Record<string, unknown> }[] = [];
  readonly points: { name: string; unit: MetricUnit; value: number; dimensions: Record<string, string> }[] = [];
  constructor(private readonly context: Record<string, unknown> = {}) {}
  debug(message: string, extra: Record<string, unknown> = {}) {
    this.lines.push({ level: "DEBUG", message, extra: { ...this.context, ...extra } });
  }
  info(message: string, extra: Record<string, unknown> = {}) {
    this.lines.push({ level: "INFO", message, extra: { ...this.context, ...extra } });
  }
  warn(message: string, extra: Record<string, unknown> = {}) {
    this.lines.push({ level: "WARN", message, extra: { ...this.context, ...extra } });
  }
  error(message: string, extra: Record<string, unknown> = {}) {
    this.lines.push({ level: "ERROR", message, extra: { ...this.context, ...extra } });
  }
  add(name: string, unit: MetricUnit, value: number, dimensions: Record<string, string> = {}) {
    this.points.push({ name, unit, value, dimensions });
  }
  total(name: string, dimensions: Record<string, string> = {}): number {
    return this.points.filter((p) => p.name === name && Object.entries(dimensions).every(([k, v]) => p.dimensions[k] === v)).reduce((sum, p) => sum + p.value, 0);
  }
}
