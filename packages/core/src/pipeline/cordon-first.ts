/**
 * Cordon first: the records of one batch all protect their nodes (taint, cordon) before any of
 * them starts draining. In a mass reclaim every node of the batch is cordoned within one round of
 * requests, instead of waiting behind the evictions (and the control plane's load) of the nodes
 * that came first. A record that is slow to protect holds the others back for `maxWaitMs` at most.
 */
export class CordonFirst {
  private arrived = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(
    private readonly participants: number,
    private readonly maxWaitMs = 2_000,
  ) {}

  /** The record protected its node (or ended without draining): one fewer to wait for. */
  arrive(): void {
    this.arrived += 1;
    if (this.arrived >= this.participants) for (const release of this.waiters.splice(0)) release();
  }

  /** Resolves when every record of the batch has arrived, or after `maxWaitMs`. */
  async ready(): Promise<void> {
    if (this.arrived >= this.participants) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.maxWaitMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** A record's part in the batch's cordon-first round: it arrives once, whatever happens. */
export class CordonFirstTicket {
  private done = false;

  constructor(private readonly round: CordonFirst | undefined) {}

  arrive(): void {
    if (this.done) return;
    this.done = true;
    this.round?.arrive();
  }

  /** Before a drain: arrive (this record is protected), then wait for the others. */
  async beforeDrain(): Promise<void> {
    this.arrive();
    await this.round?.ready();
  }
}
