// The gateway refuses uWebSockets.js's slow JavaScript fallback unless told otherwise (checked in child processes,
// since the package picks its implementation once per process).
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isNativeUws, loadUws } from "../../data-plane/server/native-uws.ts";

const APP = fileURLToPath(new URL("../../data-plane/server/app.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../../shared/config.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

// Starts a gateway with no snapshot, asks /healthz, and prints what happened as one JSON line.
const CHILD = `
const { startGateway } = await import(${JSON.stringify(APP)});
const { loadConfig } = await import(${JSON.stringify(CONFIG)});
try {
  const gateway = await startGateway({
    config: loadConfig({ ...process.env, DATA_PLANE_PORT: "0" }),
    snapshot: () => null,
    admission: { admit: async () => { throw new Error("unused"); }, settle: async () => {}, close: async () => {} },
    usage: { add() {} },
    log: () => {},
  });
  const health = await fetch("http://127.0.0.1:" + gateway.port + "/healthz");
  console.log(JSON.stringify({ started: true, health: health.status }));
  await gateway.close();
  process.exit(0);
} catch (error) {
  console.log(JSON.stringify({ started: false, name: error.name, message: error.message }));
  process.exit(0);
}
`;

function runChild(env: Record<string, string>): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", CHILD],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 20_000 },
      (error, stdout) => {
        if (error) return reject(error);
        const line = stdout.split("\n").find((l) => l.startsWith("{"));
        if (!line) return reject(new Error(`no result from child: ${stdout}`));
        resolve(JSON.parse(line));
      },
    );
  });
}

describe("uWebSockets.js implementation", () => {
  it("loads the native server on this machine", () => {
    expect(isNativeUws(loadUws({ allowFallback: false }))).toBe(true);
  });

  it("refuses to start on the JavaScript fallback", async () => {
    const result = await runChild({ UWS_USE_FALLBACK: "1" });
    expect(result).toMatchObject({ started: false, name: "UwsFallbackError" });
    expect(result.message).toContain("UWS_ALLOW_FALLBACK");
  });

  it("starts on the fallback when UWS_ALLOW_FALLBACK is set", async () => {
    expect(await runChild({ UWS_USE_FALLBACK: "1", UWS_ALLOW_FALLBACK: "true" })).toEqual({ started: true, health: 200 });
  });

  it("starts natively without the fallback flag", async () => {
    expect(await runChild({ UWS_USE_FALLBACK: "" })).toEqual({ started: true, health: 200 });
  });
});
