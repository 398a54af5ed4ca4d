/** Bounded parallel work: every piece of work it starts is over by the time it answers, success or failure. */
import { describe, expect, it } from "vitest";
import { allSettledOrThrow, KeyedMutex, mapWithLimit } from "../src/concurrency";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe("mapWithLimit", () => {
  it("keeps the input order and never has more than `limit` items in flight", async () => {
    let inFlight = 0;
    let most = 0;
    const results = await mapWithLimit([30, 5, 20, 1, 10, 2], 3, async (ms, i) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await sleep(ms);
      inFlight -= 1;
      return i * 10;
    });
    expect(results).toEqual([0, 10, 20, 30, 40, 50]);
    expect(most).toBe(3);
  });

  it("after a failure starts no further item, and rejects only once the items under way are over", async () => {
    // Prepare: item 1 fails at once while items 0 and 2 still run
    const started: number[] = [];
    const finished: number[] = [];
    // Act
    const outcome = await mapWithLimit([0, 1, 2, 3, 4, 5], 3, async (n) => {
      started.push(n);
      if (n === 1) throw new Error("item 1 failed");
      await sleep(50);
      finished.push(n);
      return n;
    }).catch((error: unknown) => error);
    // Assess
    expect(outcome).toEqual(new Error("item 1 failed"));
    expect(started).toEqual([0, 1, 2]);
    expect(finished.sort()).toEqual([0, 2]);
  });
});

describe("allSettledOrThrow", () => {
  it("answers the values in order once all are in", async () => {
    await expect(allSettledOrThrow([sleep(10).then(() => "a"), Promise.resolve(2)])).resolves.toEqual(["a", 2]);
  });

  it("throws the first failure in the given order, only after every other promise settled", async () => {
    let slowDone = false;
    const slow = sleep(50).then(() => {
      slowDone = true;
    });
    const outcome = await allSettledOrThrow([slow, Promise.reject(new Error("first")), Promise.reject(new Error("second"))]).catch((error: unknown) => error);
    expect(outcome).toEqual(new Error("first"));
    expect(slowDone).toBe(true);
  });
});

describe("KeyedMutex", () => {
  it("runs work for one key one after another, and forgets the key when idle", async () => {
    const mutex = new KeyedMutex();
    const order: string[] = [];
    const a = mutex.run("n", async () => {
      await sleep(20);
      order.push("a");
    });
    const b = mutex.run("n", async () => {
      order.push("b");
    });
    expect(mutex.busy("n")).toBe(true);
    await Promise.all([a, b]);
    expect(order).toEqual(["a", "b"]);
    expect(mutex.busy("n")).toBe(false);
  });
});
