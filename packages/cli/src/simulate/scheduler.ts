/**
 * Timers on simulated time, for the models the simulation runs beside kube-local (Auto Scaling
 * groups, EC2, cluster-autoscaler): each fires when the simulated clock reaches its time, and
 * when nothing else is under way the clock may jump straight to the next one (`fastForward`),
 * so ten quiet minutes of cluster-autoscaler's scale-down delay cost no wall time.
 */

/** The clock the models share with the handler: simulated epoch ms, running 1/timeScale times faster than the wall clock. */
export interface SimClock {
  now(): number;
  readonly timeScale: number;
  /** Moves simulated time forward without waiting. */
  advance(ms: number): void;
}

interface Entry {
  id: number;
  due: number;
  run: () => void;
  /** Repeats every `period` ms; periodic timers never hold the clock back from a jump. */
  period?: number;
}

export class SimScheduler {
  private entries: Entry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private nextId = 0;
  private stopped = false;

  constructor(readonly clock: SimClock) {}

  now = (): number => this.clock.now();

  /** Runs `run` once `ms` simulated ms from now; returns a cancel function. */
  after(ms: number, run: () => void): () => void {
    return this.add({ due: this.now() + Math.max(0, ms), run });
  }

  /** Runs `run` every `period` ms, the first time after `firstIn` ms (default: one period). */
  every(period: number, run: () => void, firstIn = period): () => void {
    return this.add({ due: this.now() + Math.max(0, firstIn), run, period });
  }

  /** The next time a one-off timer fires; undefined when none is set. */
  nextOneOff(): number | undefined {
    const due = this.entries.filter((e) => e.period === undefined).map((e) => e.due);
    return due.length ? Math.min(...due) : undefined;
  }

  /** Jumps the clock to `to` (never backwards) and runs what fell due. */
  fastForward(to: number): void {
    const now = this.now();
    if (to > now) this.clock.advance(to - now);
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.entries = [];
  }

  private add(entry: Omit<Entry, "id">): () => void {
    if (this.stopped) return () => undefined;
    const id = (this.nextId += 1);
    this.entries.push({ ...entry, id });
    this.arm();
    return () => {
      this.entries = this.entries.filter((e) => e.id !== id);
      this.arm();
    };
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped || this.entries.length === 0) return;
    const due = Math.min(...this.entries.map((e) => e.due));
    const wait = Math.max(0, (due - this.now()) * this.clock.timeScale);
    this.timer = setTimeout(() => this.fire(), wait);
  }

  private fire(): void {
    this.timer = undefined;
    // one at a time, earliest first: a timer may cancel or add others as it runs
    for (let turns = 0; turns < 10_000 && !this.stopped; turns += 1) {
      const now = this.now();
      const next = this.entries.filter((e) => e.due <= now + 0.5).sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (!next) break;
      if (next.period === undefined) this.entries = this.entries.filter((e) => e.id !== next.id);
      else {
        // a periodic timer skips the turns a jump passed over, as a real loop that slept through them would
        while (next.due <= now + 0.5) next.due += next.period;
      }
      next.run();
    }
    this.arm();
  }
}
