// Entry point of a standalone data-plane process (`npm run start:data-plane`): production mode, several per deployment.
import { startServices } from "../control-plane/runtime/start-services.ts";
import { ConfigError, loadConfig } from "../shared/config.ts";
import { startDataPlane } from "./runtime/start-data-plane.ts";

const log = (line: string) => console.log(`[tollgate data plane] ${line}`);

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.embedded) {
    throw new ConfigError([
      "DATABASE_URL: a standalone data plane needs the shared Postgres (and REDIS_URL to share limits); for the embedded mode run `npm start`, which runs both planes in one process",
    ]);
  }
  const services = await startServices({ ...config, TOLLGATE_AUTO_MIGRATE: false }, log);
  const dataPlane = await startDataPlane({ ...services, config, log });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: finishing open requests, flushing usage records`);
    await dataPlane.close();
    await services.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `[tollgate data plane] failed to start: ${(error as Error).message}`);
  process.exit(1);
});
