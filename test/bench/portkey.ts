// The peer gateway for the `peer` section: Portkey's open-source gateway, installed from the npm registry into a folder
// under os.tmpdir() (never a dependency of ours), started on the gateway core, routed to our mock by request headers.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { GATEWAY_CORE } from "./bench-env.ts";
import { startChild } from "./processes.ts";

const PACKAGE = "@portkey-ai/gateway";

export interface PortkeyInstall {
  version: string;
  /** The @hono/node-server version it runs on (see `honoNodeServer` below). */
  honoNodeServer: string;
  dir: string;
  /** True when an earlier run's install was reused. */
  cached: boolean;
  installMs: number;
}

const installedVersion = (dir: string, name: string): string | null => {
  try {
    return (JSON.parse(readFileSync(join(dir, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return null;
  }
};

/**
 * Installs `@portkey-ai/gateway@version` once per (version, override) into os.tmpdir() and reuses it afterwards.
 *
 * `honoNodeServer` pins @hono/node-server through npm `overrides`: with what npm resolves by default (^1.3.3, today
 * 1.19.x) every streamed chat completion of Portkey 1.15.2 fails with `TypeError: immutable` (Portkey issue #1389);
 * 1.13.5 is the version Portkey's own repository patches and runs. An empty string leaves npm's resolution alone.
 * Scripts are skipped: the package's only one is `patch-package`, and its patches/ folder is not published.
 */
export async function installPortkey(version: string, honoNodeServer: string): Promise<PortkeyInstall> {
  const dir = join(tmpdir(), `tollgate-bench-portkey-${version}-hono-node-server-${honoNodeServer || "default"}`);
  const marker = join(dir, "installed.json");
  const started = performance.now();
  if (existsSync(marker) && installedVersion(dir, PACKAGE) === version) {
    return { version, honoNodeServer: installedVersion(dir, "@hono/node-server") ?? "unknown", dir, cached: true, installMs: 0 };
  }
  // A fresh folder renamed into place, so an interrupted install is never mistaken for a finished one.
  const staging = mkdtempSync(`${dir}.staging-`);
  try {
    const manifest = { private: true, dependencies: { [PACKAGE]: version }, ...(honoNodeServer ? { overrides: { "@hono/node-server": honoNodeServer } } : {}) };
    writeFileSync(join(staging, "package.json"), JSON.stringify(manifest, null, 2));
    await promisify(execFile)("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], { cwd: staging, timeout: 180_000 });
    const got = installedVersion(staging, PACKAGE);
    if (got !== version) throw new Error(`npm installed ${PACKAGE}@${got ?? "nothing"}, expected ${version}`);
    writeFileSync(join(staging, "installed.json"), JSON.stringify({ version, at: new Date().toISOString() }));
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  return { version, honoNodeServer: installedVersion(dir, "@hono/node-server") ?? "unknown", dir, cached: false, installMs: performance.now() - started };
}

/** A port that was free a moment ago (Portkey takes `--port=N` and cannot report a port it chose itself). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts Portkey's Node server (the package's bin, build/start-server.js) headless on the gateway core. */
export async function startPortkey(install: PortkeyInstall): Promise<{ url: string; pid: number }> {
  const port = await freePort();
  const script = join(install.dir, "node_modules", PACKAGE, "build", "start-server.js");
  let pid = 0;
  // It prints a 1 s spinner, then "Ready for connections!" once it listens.
  await startChild("portkey", script, [`--port=${port}`, "--headless"], { core: GATEWAY_CORE, ready: /Ready for connections/, timeoutMs: 30_000, onPid: (p) => (pid = p) });
  return { url: `http://127.0.0.1:${port}`, pid };
}

/** Request headers that make Portkey forward an OpenAI chat completion to `mockUrl`, the Authorization header as the key. */
export const portkeyHeaders = (mockUrl: string): string[] => ["x-portkey-provider: openai", `x-portkey-custom-host: ${mockUrl}/v1`];
