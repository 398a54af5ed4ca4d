/** Runs a command in process with its stdout and stderr (and console.log / console.error) kept, not printed. */
import { vi } from "vitest";

export async function capture(run: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  vi.spyOn(process.stdout, "write").mockImplementation((c) => ((out += String(c)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((c) => ((err += String(c)), true));
  vi.spyOn(console, "log").mockImplementation((...p: unknown[]) => void (out += `${p.join(" ")}\n`));
  vi.spyOn(console, "error").mockImplementation((...p: unknown[]) => void (err += `${p.join(" ")}\n`));
  try {
    return { code: await run(), out, err };
  } finally {
    vi.restoreAllMocks();
  }
}
