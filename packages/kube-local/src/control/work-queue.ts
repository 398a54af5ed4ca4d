/**
 * A delaying work queue in the manner of client-go's: a key is queued at most once, at the earliest
 * time anyone asked for it, and handled after that delay. `idle()` waits for the work that is due
 * soon; far-off rechecks (a budget's expiring disruption entries) do not keep it busy.
 */
import type { StoredChange } from "../store";

export class WorkQueue {
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; due: number; background: boolean }>();
  private waiters: (() => void)[] = [];
  private stopped = false;

  constructor(private readonly handle: (key: string) => void) {}

  /** Queues `key` to be handled after `delayMs`, unless it is already queued sooner. */
  add(key: string, delayMs: number, options: { background?: boolean } = {}): void {
    if (this.stopped) return;
    const due = Date.now() + Math.max(0, delayMs);
    const existing = this.timers.get(key);
    if (existing && existing.due <= due) {
      if (!options.background) existing.background = false;
      return;
    }
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => this.run(key), Math.max(0, delayMs));
    this.timers.set(key, { timer, due, background: options.background ?? false });
  }

  /** Resolves once no foreground work is queued. */
  idle(): Promise<void> {
    if (!this.busy()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.release();
  }

  private run(key: string): void {
    this.timers.delete(key);
    try {
      this.handle(key);
    } finally {
      if (!this.busy()) this.release();
    }
  }

  /** Whether foreground work is queued. */
  busy(): boolean {
    for (const entry of this.timers.values()) if (!entry.background) return true;
    return false;
  }

  private release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}

/**
 * A controller over a work queue, as kube-controller-manager's are: changes queue keys, `sync`
 * handles one key at a time. Subclasses say which changes queue what (`onChange`), what is queued
 * at start, and what a sync does.
 */
export abstract class QueuedController {
  protected readonly queue = new WorkQueue((key) => this.sync(key));

  abstract start(): void;
  abstract onChange(change: StoredChange): void;
  protected abstract sync(key: string): void;

  stop(): void {
    this.queue.stop();
  }

  /** Resolves once no foreground sync is queued. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  busy(): boolean {
    return this.queue.busy();
  }
}
