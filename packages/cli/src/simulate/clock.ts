/**
 * Simulated time: the handler's clock starts at the sample event's time and runs `1 / timeScale`
 * times faster than the wall clock; sleeps shrink by the same factor, and kube-local's kubelet
 * uses the same factor, so a two-minute spot warning plays out in about a second at 0.01.
 */
export class ScaledClock {
  private startedAt = Date.now();
  private skipped = 0;

  constructor(
    private readonly origin: number,
    readonly timeScale: number,
  ) {}

  now = (): number => this.origin + (Date.now() - this.startedAt) / this.timeScale + this.skipped;

  sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms * this.timeScale)));

  /** Restarts at the origin: set-up time does not count. */
  start(): void {
    this.startedAt = Date.now();
    this.skipped = 0;
  }

  /** Jumps simulated time forward without waiting (between scenario steps). */
  advance(ms: number): void {
    this.skipped += ms;
  }
}
