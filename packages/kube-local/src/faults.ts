/**
 * Fault injection per route: added latency, error answers (429 with Retry-After, 5xx, refusals) and
 * dropped connections, matched by method, verb, resource/subresource or path, a number of times
 * or with a probability.
 */
export interface FaultMatch {
  method?: string;
  verb?: string;
  /** `pods`, `pods/eviction`, `nodes`; matched against the routed resource and subresource. */
  resource?: string;
  /** A regular expression (or substring) tested against the request path and query. */
  path?: RegExp | string;
}

export type FaultEffect =
  | { kind: "latency"; ms: number }
  /** An error answer: throttling and server faults, or a refusal (an admission webhook's denial is a 400 or 403). */
  | { kind: "status"; code: 400 | 403 | 409 | 422 | 429 | 500 | 502 | 503 | 504; retryAfterSeconds?: number; message?: string }
  | { kind: "drop" };

export interface FaultRule {
  match: FaultMatch;
  effect: FaultEffect;
  /** How many requests the rule hits before it retires; unlimited when absent. */
  times?: number;
  /** Chance of hitting a matching request; 1 when absent. */
  probability?: number;
}

export interface RouteFacts {
  method: string;
  path: string;
  verb?: string | undefined;
  resource?: string | undefined;
  subresource?: string | undefined;
}

interface ActiveRule extends FaultRule {
  id: number;
  hits: number;
}

export class FaultInjector {
  private rules: ActiveRule[] = [];
  private nextId = 1;

  constructor(private readonly random: () => number = Math.random) {}

  add(rule: FaultRule): number {
    const id = this.nextId++;
    this.rules.push({ ...rule, id, hits: 0 });
    return id;
  }

  remove(id: number): void {
    this.rules = this.rules.filter((r) => r.id !== id);
  }

  clear(): void {
    this.rules = [];
  }

  /** Effects that apply to this request, consuming one use of each rule that fires. */
  take(route: RouteFacts): FaultEffect[] {
    const effects: FaultEffect[] = [];
    for (const rule of this.rules) {
      if (!matches(rule.match, route)) continue;
      if (rule.times !== undefined && rule.hits >= rule.times) continue;
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      rule.hits += 1;
      effects.push(rule.effect);
    }
    this.rules = this.rules.filter((r) => r.times === undefined || r.hits < r.times);
    return effects;
  }
}

function matches(match: FaultMatch, route: RouteFacts): boolean {
  if (match.method && match.method.toUpperCase() !== route.method) return false;
  if (match.verb && match.verb !== route.verb) return false;
  if (match.resource) {
    const routed = route.subresource ? `${route.resource}/${route.subresource}` : route.resource;
    if (match.resource !== routed) return false;
  }
  if (match.path) {
    const ok = typeof match.path === "string" ? route.path.includes(match.path) : match.path.test(route.path);
    if (!ok) return false;
  }
  return true;
}
