// The embedded default as a user runs it: the real entry point, no DATABASE_URL or REDIS_URL, data kept across restarts.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, describe, expect, it } from "vitest";
import { startMockProvider } from "../support/mock-provider.ts";
import { until } from "../support/poll.ts";

const home = mkdtempSync(join(tmpdir(), "tollgate-home-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

function start(dir = home): Promise<{ child: ChildProcess; url: string; gateway: string; output: () => string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, TOLLGATE_HOME: dir, CONTROL_PLANE_PORT: "0", DATA_PLANE_PORT: "0" };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  delete env.TOLLGATE_SECRET_KEY;
  const child = spawn(process.execPath, ["--import", "tsx", "control-plane/main.ts"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /control plane ready: (\S+)/.exec(output);
      const gateway = /data plane ready: (\S+)/.exec(output);
      if (match && gateway) resolve({ child, url: match[1]!, gateway: gateway[1]!, output: () => output });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`exited with ${code} before ready:\n${output}`)));
  });
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  return exited;
}

async function gql(url: string, query: string, key?: string, variables?: Record<string, unknown>) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (key) headers.authorization = `Bearer ${key}`;
  const response = await fetch(url, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  return { status: response.status, ...((await response.json()) as { data: any; errors?: any[] }) };
}

const hello = [{ role: "user" as const, content: "Hello" }];
const printedKey = (output: string) => /^\s+(tg_pat_\S+)$/m.exec(output)?.[1];

describe("embedded default (npm start with no configuration)", () => {
  it("serves GraphQL and GraphiQL, migrates, prints the owner's key once, and keeps data across a restart", async () => {
    const first = await start();
    expect(first.output()).toContain("applied migrations");
    // Give the announcement a moment: it is printed just before the ready line.
    const key = printedKey(first.output());
    expect(key).toMatch(/^tg_pat_/);
    const anonymous = await gql(first.url, `{ groups { totalCount } }`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.errors?.[0].extensions.code).toBe("UNAUTHENTICATED");
    const created = await gql(first.url, `mutation { createGroup(input: { name: "Persisted" }) { ... on Group { id } } }`, key);
    expect(created.data.createGroup.id).toBeTruthy();
    const page = await fetch(first.url, { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("GraphiQL");
    expect(await stop(first.child)).toBe(0);

    expect(statSync(join(home, "secret.key")).mode & 0o777).toBe(0o600);

    const second = await start();
    expect(second.output()).not.toContain("applied migrations");
    expect(printedKey(second.output())).toBeUndefined();
    const listed = await gql(second.url, `{ groups { edges { node { id name } } } }`, key);
    expect(listed.data.groups.edges).toEqual([{ node: { id: created.data.createGroup.id, name: "Persisted" } }]);
    expect(await stop(second.child)).toBe(0);
  }, 90_000);

  it("answers through its gateway and records usage, Prisma and the usage writer sharing PGlite's one connection", async () => {
    const mock = await startMockProvider();
    const plane = await start(mkdtempSync(join(home, "gateway-")));
    try {
      const key = printedKey(plane.output());
      const ok = async (query: string, variables: Record<string, unknown>) => {
        const { data, errors } = await gql(plane.url, query, key, variables);
        expect(errors).toBeUndefined();
        const result = Object.values(data)[0] as Record<string, any>;
        expect(result.code).toBeUndefined();
        return result;
      };
      const provider = await ok(`mutation ($i: CreateProviderInput!) { createProvider(input: $i) { ... on Provider { id } ... on Error { code } } }`, {
        i: { name: "mock", kind: "openai", baseUrl: `${mock.url}/v1`, credentials: "sk-upstream" },
      });
      const model = await ok(`mutation ($i: CreateModelInput!) { createModel(input: $i) { ... on Model { id } ... on Error { code } } }`, { i: { slug: "chat", displayName: "Chat" } });
      const upstream = await ok(`mutation ($i: AddProviderModelInput!) { addProviderModel(input: $i) { ... on ProviderModel { id } ... on Error { code } } }`, {
        i: { providerId: provider.id, upstreamName: "gpt-mock", inputPricePerMTok: "1.00", outputPricePerMTok: "2.00" },
      });
      await ok(`mutation ($i: AddModelRouteInput!) { addModelRoute(input: $i) { ... on Model { id } ... on Error { code } } }`, { i: { modelId: model.id, providerModelId: upstream.id } });
      const { data } = await gql(plane.url, `{ me { id } }`, key);
      await ok(`mutation ($i: GrantModelInput!) { grantModel(input: $i) { ... on ModelGrant { id } ... on Error { code } } }`, { i: { modelId: model.id, subject: { userId: data.me.id } } });
      const created = await ok(`mutation ($i: CreateApiKeyInput!) { createApiKey(input: $i) { ... on CreatedApiKey { secret } ... on Error { code } } }`, { i: { name: "e2e" } });

      const openai = new OpenAI({ baseURL: plane.gateway, apiKey: created.secret, maxRetries: 0 });
      // The new policy reaches the data plane in the same process through the change bus; wait until it serves it. The
      // key is the last change, and changes apply in order, so the tries before are 401s, which record no usage.
      let answer: OpenAI.ChatCompletion | null = null;
      await until(async () => (answer = await openai.chat.completions.create({ model: "chat", messages: hello }).catch(() => null)) !== null, "the gateway serves the new model");
      const outputTokens = answer!.usage!.completion_tokens;
      expect(outputTokens).toBeGreaterThan(0);
      const missing = await openai.chat.completions.create({ model: "no\u0000such", messages: hello }).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(OpenAI.NotFoundError);

      let rows: { requests: number }[] = [];
      const usage = `{ usage(groupBy: [MODEL]) { modelSlug requests errors outputTokens } }`;
      await until(async () => (rows = (await gql(plane.url, usage, key)).data.usage).reduce((n: number, row: { requests: number }) => n + row.requests, 0) >= 2, "both usage records are written");
      expect(rows).toEqual(
        expect.arrayContaining([
          { modelSlug: "chat", requests: 1, errors: 0, outputTokens },
          { modelSlug: "no\ufffdsuch", requests: 1, errors: 1, outputTokens: 0 },
        ]),
      );
      expect(await stop(plane.child)).toBe(0);
    } finally {
      plane.child.kill("SIGKILL");
      await mock.close();
    }
  }, 90_000);

  it("refuses to start with a bad setting and names it", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "control-plane/main.ts"], {
      env: { ...process.env, TOLLGATE_HOME: home, CONTROL_PLANE_PORT: "99999", REDIS_URL: "http://nope" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
    const code = await new Promise((resolve) => child.once("exit", resolve));
    expect(code).toBe(1);
    expect(output).toContain("CONTROL_PLANE_PORT: CONTROL_PLANE_PORT must be between 0 and 65535");
    expect(output).toContain("REDIS_URL: REDIS_URL must start with redis:// or rediss://");
  });
});
