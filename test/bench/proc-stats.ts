// What Linux says about the benchmark's processes: resident memory and CPU time (/proc/<pid>/...), and per TCP
// connection its kernel queues and byte counters (ss), so memory sections can tell the gateway's own buffers apart.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** VmRSS of a process, in bytes. */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}

/** CPU time (user + system) a process has used so far, in seconds (/proc/<pid>/stat, clock ticks of 10 ms). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may contain spaces: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

const CLOCK_TICKS = 100;

/** Every process whose command name (/proc/<pid>/comm) is `comm`, e.g. the Redis server or all Postgres backends. */
export function pidsNamed(comm: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === comm) pids.push(Number(entry));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return pids;
}

/** CPU seconds of each of these processes so far; one that is gone is left out. */
export function cpuSecondsByPid(pids: readonly number[]): Map<number, number> {
  const seconds = new Map<number, number>();
  for (const pid of pids) {
    try {
      seconds.set(pid, cpuSeconds(pid));
    } catch {
      // Exited.
    }
  }
  return seconds;
}

/** CPU seconds used between two readings by the processes alive at both (a backend that came or went is missed). */
export function cpuSecondsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, end] of after) {
    const start = before.get(pid);
    if (start !== undefined) total += end - start;
  }
  return total;
}

export const portOf = (url: string) => Number(new URL(url).port);

export interface SocketCounters {
  /** "local port → remote port", unique among one process's connections. */
  id: string;
  localPort: number;
  remotePort: number;
  recvQ: number;
  sendQ: number;
  /** Cumulative over the connection's life (tcp_info): bytes received, and bytes the peer acknowledged. */
  received: number;
  acked: number;
}

/** A process's established TCP connections with their queues and tcp_info counters (`ss -tinp`); null without ss. */
export function processSockets(pid: number): SocketCounters[] | null {
  let out: string;
  try {
    out = execFileSync("ss", ["-tinpH", "state", "established"], { encoding: "utf8", maxBuffer: 64 << 20 });
  } catch {
    return null;
  }
  const rows: SocketCounters[] = [];
  const owner = `pid=${pid},`;
  // Each socket is a line "Recv-Q Send-Q local peer users:(...)" followed by an indented line of tcp_info.
  const lines = out.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.includes(owner) || /^\s/.test(line)) continue;
    const [recvQ, sendQ, local, remote] = line.trim().split(/\s+/);
    const info = lines[i + 1] ?? "";
    const localPort = Number(local!.slice(local!.lastIndexOf(":") + 1));
    const remotePort = Number(remote!.slice(remote!.lastIndexOf(":") + 1));
    rows.push({
      id: `${localPort}→${remotePort}`,
      localPort,
      remotePort,
      recvQ: Number(recvQ),
      sendQ: Number(sendQ),
      received: Number(/bytes_received:(\d+)/.exec(info)?.[1] ?? 0),
      acked: Number(/bytes_acked:(\d+)/.exec(info)?.[1] ?? 0),
    });
  }
  return rows;
}
