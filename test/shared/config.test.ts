import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../shared/config.ts";

describe("configuration", () => {
  it("defaults to the embedded mode on the documented addresses", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      embedded: true,
      TOLLGATE_HOME: "./.tollgate",
      CONTROL_PLANE_HOST: "127.0.0.1",
      CONTROL_PLANE_PORT: 4000,
      DATA_PLANE_PORT: 8080,
      TOLLGATE_AUTO_MIGRATE: true,
    });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it("uses Postgres and Redis when their URLs are set", () => {
    const config = loadConfig({ DATABASE_URL: "postgresql://db/x", REDIS_URL: "redis://cache:6379" });
    expect(config.embedded).toBe(false);
    expect(config.REDIS_URL).toBe("redis://cache:6379");
  });

  it("lists every bad value at once with a message a person can act on", () => {
    let error: unknown;
    try {
      loadConfig({ DATABASE_URL: "mysql://x", CONTROL_PLANE_PORT: "http", TOLLGATE_AUTO_MIGRATE: "maybe" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join("\n");
    expect(problems).toContain("DATABASE_URL: DATABASE_URL must start with postgres:// or postgresql://");
    expect(problems).toContain("CONTROL_PLANE_PORT");
    expect(problems).toContain("TOLLGATE_AUTO_MIGRATE");
  });
});
