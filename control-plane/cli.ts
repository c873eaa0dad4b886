// `npm run tollgate -- <command>`: operator commands that use the server's own configuration.
// In embedded mode stop the server first: the embedded database admits one process at a time.
import { ConfigError, loadConfig } from "../shared/config.ts";
import { announceOwnerKey, createOwnerKey } from "./auth/bootstrap-owner.ts";
import { startServices } from "./runtime/start-services.ts";

const commands: Record<string, string> = {
  "create-admin-key": "mint a new owner API key (creates the owner if there is none) and print it once",
};

async function main(command: string | undefined): Promise<number> {
  if (!command || !(command in commands)) {
    console.error(`usage: npm run tollgate -- <command>\n${Object.entries(commands).map(([c, d]) => `  ${c}  ${d}`).join("\n")}`);
    return 2;
  }
  const config = loadConfig();
  const services = await startServices(config, () => undefined);
  try {
    announceOwnerKey(await createOwnerKey(services.prisma, config.TOLLGATE_OWNER_EMAIL), (line) => console.log(line));
    return 0;
  } finally {
    await services.stop();
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof ConfigError ? error.message : `tollgate: ${(error as Error).message}`);
    process.exit(1);
  },
);
