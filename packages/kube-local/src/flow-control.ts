/**
 * A limit on requests in flight in the manner of kube-apiserver's API Priority and Fairness (and
 * the max-in-flight filter before it): read-only (get, list) and mutating requests have seats of
 * their own; a request that finds no free seat may wait in a queue for a while, and is refused
 * with 429, `Retry-After: 1` and the plain-text body kube-apiserver sends. Watches are long-running
 * and not counted; members of system:masters are exempt, as the exempt priority level is.
 */
export interface FlowControlOptions {
  /** Read-only requests in flight at once (kube-apiserver's default: 400). */
  readOnly: number;
  /** Mutating requests in flight at once (kube-apiserver's default: 200). */
  mutating: number;
  /** How long a request may wait for a seat before it is refused; default 0 (refused at once). */
  queueWaitMs?: number;
  /** Groups never limited (default: system:masters). */
  exemptGroups?: readonly string[];
}

export const FLOW_CONTROL_REJECTION = "Too many requests, please try again later.";

/** Response headers naming the flow schema and priority level that handled a request (their UIDs). */
export const FLOW_SCHEMA_UID = "5a1b6f0e-6c0b-4c0e-9a55-1f7d1a2b3c4d";
export const PRIORITY_LEVEL_UID = "8e2d5c3b-1f4a-4b6e-8c7d-9a0b1c2d3e4f";

export type RequestKind = "readOnly" | "mutating";

interface Lane {
  inFlight: number;
  readonly limit: number;
  readonly waiting: (() => void)[];
}

export class FlowControl {
  /** Requests refused for want of a seat, by kind. */
  readonly rejected = { readOnly: 0, mutating: 0 };
  private readonly lanes: Record<RequestKind, Lane>;
  private readonly exempt: ReadonlySet<string>;

  constructor(private readonly options: FlowControlOptions) {
    if (!(options.readOnly > 0) || !(options.mutating > 0)) throw new Error("flow control: readOnly and mutating limits must be positive");
    this.lanes = {
      readOnly: { inFlight: 0, limit: options.readOnly, waiting: [] },
      mutating: { inFlight: 0, limit: options.mutating, waiting: [] },
    };
    this.exempt = new Set(options.exemptGroups ?? ["system:masters"]);
  }

  static kindOf(verb: string | undefined): RequestKind {
    return verb === undefined || verb === "get" || verb === "list" || verb === "watch" ? "readOnly" : "mutating";
  }

  isExempt(groups: readonly string[], verb: string | undefined): boolean {
    return verb === "watch" || groups.some((g) => this.exempt.has(g));
  }

  /** Takes a seat, waiting in line up to queueWaitMs; resolves to a release function, or undefined when refused. */
  async acquire(kind: RequestKind): Promise<(() => void) | undefined> {
    const lane = this.lanes[kind];
    if (lane.inFlight < lane.limit && lane.waiting.length === 0) {
      lane.inFlight += 1;
      return this.releaser(lane);
    }
    const wait = this.options.queueWaitMs ?? 0;
    if (wait <= 0) {
      this.rejected[kind] += 1;
      return undefined;
    }
    const granted = await new Promise<boolean>((resolve) => {
      const admit = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const index = lane.waiting.indexOf(admit);
        if (index >= 0) lane.waiting.splice(index, 1);
        resolve(false);
      }, wait);
      lane.waiting.push(admit);
    });
    if (!granted) {
      this.rejected[kind] += 1;
      return undefined;
    }
    // the seat was handed over by the request that left it, already counted
    return this.releaser(lane);
  }

  inFlight(kind: RequestKind): number {
    return this.lanes[kind].inFlight;
  }

  private releaser(lane: Lane): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // the seat passes to the first one waiting, or becomes free
      const next = lane.waiting.shift();
      if (next) next();
      else lane.inFlight -= 1;
    };
  }
}
