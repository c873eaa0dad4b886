// CPU time a relay process used during some runs ÷ their wall time (1 = its whole core), from /proc/<pid>/stat.
import { cpuSeconds } from "./proc-stats.ts";

export class CpuShare {
  private cpu = 0;
  private wall = 0;
  constructor(private readonly pid: number) {}

  /** Runs `fn` and adds the process's CPU and the wall time it took; a process that is gone counts as NaN. */
  async during<T>(fn: () => Promise<T>): Promise<T> {
    const [cpu0, t0] = [this.read(), performance.now()];
    try {
      return await fn();
    } finally {
      this.cpu += this.read() - cpu0;
      this.wall += (performance.now() - t0) / 1000;
    }
  }

  get share(): number {
    return this.wall > 0 ? this.cpu / this.wall : Number.NaN;
  }

  private read(): number {
    try {
      return cpuSeconds(this.pid);
    } catch {
      return Number.NaN;
    }
  }
}

export const percent = (share: number) => (Number.isFinite(share) ? `${Math.round(share * 100)} %` : "n/a");
