// Entry point: `npm start` runs the control plane, and the data plane in the same process unless RUN_DATA_PLANE=false,
// on the configured (or embedded) backing services.
import "./runtime/node-env.ts";
import { startDataPlane } from "../data-plane/runtime/start-data-plane.ts";
import { ConfigError, loadConfig } from "../shared/config.ts";
import { announceOwnerKey, bootstrapOwner } from "./auth/bootstrap-owner.ts";
import { startServices } from "./runtime/start-services.ts";
import { createControlPlaneServer } from "./server.ts";

const log = (line: string) => console.log(`[tollgate] ${line}`);

async function main(): Promise<void> {
  const config = loadConfig();
  const services = await startServices(config, log);
  const owner = await bootstrapOwner(services.prisma, config.TOLLGATE_OWNER_EMAIL);
  if (owner) announceOwnerKey(owner, (line) => console.log(line));
  const controlPlane = createControlPlaneServer({ ...services, config });
  const url = await controlPlane.listen(config.CONTROL_PLANE_PORT, config.CONTROL_PLANE_HOST);
  const dataPlane = config.RUN_DATA_PLANE ? await startDataPlane({ ...services, config, log }) : null;
  log(`control plane ready: ${url} (GraphiQL in a browser)`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: shutting down`);
    // The data plane goes first: its streams finish and its usage records reach Postgres before the pool closes.
    await dataPlane?.close();
    await controlPlane.close();
    await services.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else {
    console.error(`[tollgate] failed to start: ${(error as Error).message}`);
  }
  process.exit(1);
});
