// Child processes of a benchmark run: started with tsx (optionally pinned to a core with taskset), awaited until they
// print a line matching a pattern, and all stopped at the end, on failure or on Ctrl-C.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

const children = new Set<ChildProcess>();

export const hasTaskset = (() => {
  try {
    execFileSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

function command(script: string, args: string[], core: number | null, nodeArgs: string[] = []): [string, string[]] {
  const node = [process.execPath, ...nodeArgs, "--import", "tsx", script, ...args];
  return core !== null && hasTaskset ? ["taskset", ["-c", String(core), ...node]] : [node[0]!, node.slice(1)];
}

/** Starts a long-lived child and resolves with the first capture group of the first stdout line matching `ready`. */
export async function startChild(name: string, script: string, args: string[], options: ChildOptions): Promise<string> {
  return (await startStoppableChild(name, script, args, options)).value;
}

interface ChildOptions {
  core: number | null;
  env?: Record<string, string>;
  ready: RegExp;
  timeoutMs?: number;
  nodeArgs?: string[];
  /** Sees every stdout line (the ready line included). */
  onLine?: (line: string) => void;
  /** Told the child's pid at once (taskset execs node in place, so it is the node process's, as /proc describes). */
  onPid?: (pid: number) => void;
}

/** Like startChild, plus stop(): for children a section starts and should stop before the next section runs. */
export function startStoppableChild(name: string, script: string, args: string[], options: ChildOptions): Promise<{ value: string; pid: number; stop(): Promise<void> }> {
  const [file, argv] = command(script, args, options.core, options.nodeArgs);
  const child = spawn(file, argv, { env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  if (child.pid !== undefined) options.onPid?.(child.pid);
  const stderr: string[] = [];
  child.stderr!.on("data", (d: Buffer) => stderr.push(d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${options.timeoutMs ?? 30_000} ms: ${stderr.join("")}`)), options.timeoutMs ?? 30_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      options.onLine?.(line);
      const match = options.ready.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve({ value: match[1] ?? line, pid: child.pid!, stop: () => stopChild(child) });
      }
    });
    child.on("exit", (code) => {
      children.delete(child);
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}: ${stderr.join("").slice(-2000)}`));
    });
  });
}

/**
 * Runs a child to completion and returns its stdout. `env` adds to this process's environment; with `timeoutMs`, a
 * child still running then is killed and the call rejects.
 */
export function runChild(script: string, args: string[], core: number | null, options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<string> {
  const [file, argv] = command(script, args, core);
  const child = spawn(file, argv, { env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on("data", (d: Buffer) => out.push(d));
  child.stderr!.on("data", (d: Buffer) => err.push(d));
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = options.timeoutMs === undefined ? null : setTimeout(() => ((timedOut = true), child.kill("SIGKILL")), options.timeoutMs);
    child.on("exit", (code) => {
      children.delete(child);
      if (timer) clearTimeout(timer);
      if (timedOut) reject(new Error(`${script} did not finish within ${options.timeoutMs} ms`));
      else if (code === 0) resolve(Buffer.concat(out).toString());
      else reject(new Error(`${script} exited with ${code}: ${Buffer.concat(err).toString().slice(-2000)}`));
    });
  });
}

/** Runs a child that reports as it goes: `onLine` gets each stdout line; resolves when it exits with 0. */
export function runLineChild(script: string, args: string[], core: number | null, onLine: (line: string) => void): Promise<void> {
  const [file, argv] = command(script, args, core);
  const child = spawn(file, argv, { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  const err: Buffer[] = [];
  child.stderr!.on("data", (d: Buffer) => err.push(d));
  createInterface({ input: child.stdout! }).on("line", onLine);
  return new Promise((resolve, reject) => {
    child.on("exit", (code) => {
      children.delete(child);
      if (code === 0) resolve();
      else reject(new Error(`${script} exited with ${code}: ${Buffer.concat(err).toString().slice(-2000)}`));
    });
  });
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc; NaN elsewhere). taskset execs node, so the pid is node's. */
export function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    // utime and stime are fields 14 and 15 of the line, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** SIGTERM to one child, SIGKILL if it is still there after `graceMs`. */
function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      children.delete(child);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** SIGTERM to every child still running (each by its pid), SIGKILL to those still there after `graceMs`. */
export async function stopChildren(graceMs = 5_000): Promise<void> {
  await Promise.all([...children].map((child) => stopChild(child, graceMs)));
  children.clear();
}
