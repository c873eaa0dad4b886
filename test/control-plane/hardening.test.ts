import { request as httpRequest } from "node:http";
import { getIntrospectionQuery } from "graphql";
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp?.close();
});

const MAX_BODY = 1_000_000;
let groups = 0;
const groupName = () => `hardening-${++groups}-${Date.now()}`;
const createGroup = (name: string) => `createGroup(input: { name: "${name}" }) { ... on Group { id } }`;

/** Runs a request that must be refused and checks that it changed nothing: no audit event, no group, same policy version. */
async function refusedWithoutChange<T>(send: () => Promise<T>, { countGroups = true } = {}): Promise<T> {
  const counts = () =>
    Promise.all([
      cp.prisma.auditEvent.count(),
      countGroups ? cp.prisma.group.count() : null,
      cp.prisma.policyVersion.findUnique({ where: { id: 1 } }),
    ]);
  const before = await counts();
  const result = await send();
  expect(await counts()).toEqual(before);
  return result;
}

async function post(body: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  const response = await fetch(cp.url, {
    method: "POST",
    headers: { authorization: `Bearer ${cp.ownerKey}`, accept: "application/graphql-response+json, application/json", ...headers },
    body,
  });
  return { status: response.status, body: await response.json() };
}

/** node:http, so the test controls Content-Length and chunking; resolves with the answer even if the server cuts the upload. */
function rawPost(
  options: { headers: Record<string, string | number>; chunks: Buffer[] },
  target: TestControlPlane = cp,
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(target.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${target.ownerKey}`, ...options.headers },
    });
    let answered = false;
    req.on("response", (res) => {
      answered = true;
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
      });
    });
    req.on("error", (error) => (answered ? undefined : reject(error)));
    void (async () => {
      for (const chunk of options.chunks) {
        if (answered || req.destroyed) return;
        if (!req.write(chunk)) await new Promise((r) => req.once("drain", r));
        await new Promise((r) => setImmediate(r));
      }
      if (!answered && !req.destroyed) req.end();
    })().catch(() => undefined);
  });
}

function padded(query: string, totalBytes: number): Buffer {
  const json = JSON.stringify({ query, variables: { pad: "" } });
  return Buffer.from(json.replace(`"pad":""`, `"pad":"${"x".repeat(totalBytes - json.length)}"`));
}

const split = (buffer: Buffer, size: number) =>
  Array.from({ length: Math.ceil(buffer.length / size) }, (_, i) => buffer.subarray(i * size, (i + 1) * size));

describe("document limits", () => {
  it("refuses a query nested deeper than 10 fields with QUERY_TOO_DEEP and runs nothing", async () => {
    let selection = "id";
    for (let i = 0; i < 6; i += 1) selection = `members { groups { ${selection} } }`;
    const result = await refusedWithoutChange(() =>
      cp.gql(`mutation { createGroup(input: { name: "${groupName()}" }) { ... on Group { ${selection} } } }`),
    );
    expect(result.status).toBe(400);
    expect(result.errors?.[0]).toMatchObject({ message: "Query depth limit of 10 exceeded, found 14.", extensions: { code: "QUERY_TOO_DEEP" } });
  });

  it("accepts ten levels, and GraphiQL's introspection query despite its depth", async () => {
    let selection = "id";
    for (let i = 0; i < 3; i += 1) selection = `members { groups { ${selection} } }`;
    expect((await cp.gql(`{ groups { edges { node { ${selection} } } } }`)).errors).toBeUndefined(); // 3 + 6 + id
    const introspection = await cp.gql(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, schemaDescription: true }));
    expect(introspection.errors).toBeUndefined();
    expect(introspection.data?.__schema.queryType.name).toBe("Query");
  });

  it("refuses a wide query whose cost exceeds the limit with QUERY_TOO_COSTLY, and accepts half as wide", async () => {
    const wide = (first: number) =>
      `{ users(first: ${first}) { edges { node { id email name groups { id name members { id email name groups { id name members { id email name } } } } } } } }`;
    const result = await cp.gql(wide(100));
    expect(result.status).toBe(400);
    expect(result.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_COSTLY");
    expect(result.errors?.[0]?.message).toMatch(/^Query Cost limit of 15000 exceeded, found \d+/);
    expect((await cp.gql(wide(50))).errors).toBeUndefined();
  });

  it("refuses more than 15 aliases with TOO_MANY_ALIASES and creates nothing", async () => {
    const fields = Array.from({ length: 16 }, (_, i) => `g${i}: ${createGroup(groupName())}`).join("\n");
    const result = await refusedWithoutChange(() => cp.gql(`mutation { ${fields} }`));
    expect(result.status).toBe(400);
    expect(result.errors?.[0]).toMatchObject({ message: "Aliases limit of 15 exceeded, found 16.", extensions: { code: "TOO_MANY_ALIASES" } });
  });

  it("refuses a document of more than 2000 tokens with TOO_MANY_TOKENS and creates nothing", async () => {
    const result = await refusedWithoutChange(() =>
      cp.gql(`mutation { createGroup(input: { name: "${groupName()}" }) { ... on Group { id ${"__typename ".repeat(2000)} } } }`),
    );
    expect(result.status).toBe(400);
    expect(result.errors?.[0]).toMatchObject({ message: "Token limit of 2000 exceeded.", extensions: { code: "TOO_MANY_TOKENS" } });
  });

  it("refuses more than 20 directives with TOO_MANY_DIRECTIVES", async () => {
    const result = await cp.gql(`{ ${"__typename @skip(if: false) ".repeat(21)} }`);
    expect(result.status).toBe(400);
    expect(result.errors?.[0]).toMatchObject({ message: "Directives limit of 20 exceeded, found 21.", extensions: { code: "TOO_MANY_DIRECTIVES" } });
  });
});

describe("batching", () => {
  it("runs a batch of up to 10 operations", async () => {
    const response = await post(JSON.stringify([{ query: "{ __typename }" }, { query: "{ providerKinds }" }]), {
      "content-type": "application/json",
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject([{ data: { __typename: "Query" } }, { data: { providerKinds: expect.any(Array) } }]);
  });

  it("refuses a batch of 11 operations with BATCH_TOO_LARGE (413) and runs none of them", async () => {
    const batch = Array.from({ length: 11 }, () => ({ query: `mutation { ${createGroup(groupName())} }` }));
    const response = await refusedWithoutChange(() => post(JSON.stringify(batch), { "content-type": "application/json" }));
    expect(response.status).toBe(413);
    expect(response.body.errors[0]).toMatchObject({
      message: "a batch may hold at most 10 operations, this one has 11",
      extensions: { code: "BATCH_TOO_LARGE" },
    });
  });
});

describe("request body limit", () => {
  const tooLarge = { errors: [{ message: `request body too large (max ${MAX_BODY} bytes)`, extensions: { code: "PAYLOAD_TOO_LARGE" } }] };

  it("refuses a declared Content-Length over the limit with 413 before reading the body", async () => {
    const body = padded(`mutation { ${createGroup(groupName())} }`, MAX_BODY + 1);
    const response = await refusedWithoutChange(() =>
      // Only the first 64 KiB is ever sent: the answer must come without the rest.
      rawPost({ headers: { "content-length": body.length }, chunks: [body.subarray(0, 65_536)] }),
    );
    expect(response).toEqual({ status: 413, body: tooLarge });
  });

  it("refuses a chunked body once it passes the limit", async () => {
    const body = padded(`mutation { ${createGroup(groupName())} }`, 3 * MAX_BODY);
    const response = await refusedWithoutChange(() =>
      rawPost({ headers: { "transfer-encoding": "chunked" }, chunks: split(body, 65_536) }),
    );
    expect(response).toEqual({ status: 413, body: tooLarge });
  });

  it("accepts a chunked body under the limit", async () => {
    const name = groupName();
    const body = padded(`mutation { ${createGroup(name)} }`, 200_000);
    const response = await rawPost({ headers: { "transfer-encoding": "chunked" }, chunks: split(body, 16_384) });
    expect(response.status).toBe(200);
    expect(response.body.data.createGroup.id).toBeTruthy();
    expect(await cp.prisma.group.count({ where: { name } })).toBe(1);
  });
});

describe("request body limit set to 2048 bytes", () => {
  let small: TestControlPlane;
  beforeAll(async () => {
    small = await startTestControlPlane({ env: { GRAPHQL_MAX_BODY_BYTES: "2048" } });
  });
  afterAll(async () => {
    await small?.close();
  });

  it("refuses a larger body, declared or chunked, and keeps serving", async () => {
    const tooLarge = { errors: [{ message: "request body too large (max 2048 bytes)", extensions: { code: "PAYLOAD_TOO_LARGE" } }] };
    const body = padded(`mutation { ${createGroup(groupName())} }`, 20_000);
    // The chunks outrun yoga: the limit is passed before yoga has started to read.
    const chunked = await rawPost({ headers: { "transfer-encoding": "chunked" }, chunks: split(body, 1000) }, small);
    expect(chunked).toEqual({ status: 413, body: tooLarge });
    const declared = await rawPost({ headers: { "content-length": body.length }, chunks: [body] }, small);
    expect(declared).toEqual({ status: 413, body: tooLarge });
    expect(await small.prisma.group.count()).toBe(0);
    expect(await small.ok(`{ __typename }`)).toEqual({ __typename: "Query" });
  });
});

describe("CSRF prevention", () => {
  const refusedCsrf = { extensions: { code: "CSRF_HEADER_REQUIRED" } };

  it("refuses a form post (a browser simple request) and creates nothing", async () => {
    const form = new URLSearchParams({ query: `mutation { ${createGroup(groupName())} }` }).toString();
    const response = await refusedWithoutChange(() => post(form, { "content-type": "application/x-www-form-urlencoded" }));
    expect(response.status).toBe(403);
    expect(response.body.errors[0]).toMatchObject(refusedCsrf);
    const text = await refusedWithoutChange(() =>
      post(JSON.stringify({ query: `mutation { ${createGroup(groupName())} }` }), { "content-type": "text/plain" }),
    );
    expect(text.status).toBe(403);
  });

  it("refuses a GET without the CSRF header and answers one with it", async () => {
    const url = `${cp.url}?query=${encodeURIComponent("{ __typename }")}`;
    const headers = { authorization: `Bearer ${cp.ownerKey}`, accept: "application/json" };
    const plain = await fetch(url, { headers });
    expect(plain.status).toBe(403);
    expect(((await plain.json()) as any).errors[0]).toMatchObject(refusedCsrf);
    const withHeader = await fetch(url, { headers: { ...headers, "x-graphql-yoga-csrf": "1" } });
    expect(withHeader.status).toBe(200);
    expect(await withHeader.json()).toEqual({ data: { __typename: "Query" } });
  });

  it("accepts a JSON POST", async () => {
    const name = groupName();
    const response = await post(JSON.stringify({ query: `mutation { ${createGroup(name)} }` }), { "content-type": "application/json" });
    expect(response.status).toBe(200);
    expect(response.body.data.createGroup.id).toBeTruthy();
  });
});

describe("introspection", () => {
  it("is allowed when configured on (as in tests)", async () => {
    const { __schema } = await cp.ok(`{ __schema { queryType { name } } }`);
    expect(__schema.queryType.name).toBe("Query");
  });

  describe("with GRAPHQL_INTROSPECTION=false", () => {
    let closed: TestControlPlane;
    beforeAll(async () => {
      closed = await startTestControlPlane({ env: { GRAPHQL_INTROSPECTION: "false" } });
    });
    afterAll(async () => {
      await closed?.close();
    });

    it("refuses __schema and __type with INTROSPECTION_DISABLED", async () => {
      for (const query of [`{ __schema { queryType { name } } }`, `{ __type(name: "User") { fields { name } } }`]) {
        const result = await closed.gql(query);
        expect(result.status).toBe(400);
        expect(result.errors?.[0]?.extensions?.code).toBe("INTROSPECTION_DISABLED");
        expect(result.errors?.[0]?.message).toMatch(/^introspection is disabled on this server/);
      }
      expect((await closed.gql(`{ __typename }`)).data).toEqual({ __typename: "Query" });
    });

    it("gives no field suggestions that would spell out the schema", async () => {
      const result = await closed.gql(`{ user { emial } }`);
      expect(result.status).toBe(400);
      expect(JSON.stringify(result.errors)).not.toMatch(/Did you mean/);
    });

    it("refuses introspection over graphql-ws too", async () => {
      const client = createClient({
        url: closed.url.replace("http", "ws"),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${closed.ownerKey}` },
      });
      const errors = await new Promise<any[]>((resolve) => {
        client.subscribe(
          { query: `{ __schema { queryType { name } } }` },
          { next: () => resolve([]), error: (e) => resolve(e as any[]), complete: () => resolve([]) },
        );
      });
      await client.dispose();
      expect(errors[0]?.message).toMatch(/^introspection is disabled on this server/);
    });
  });
});

describe("unexpected errors", () => {
  it("are masked as \"Unexpected error.\" with no SQL or stack, and the failed mutation changes nothing", async () => {
    // A real database failure on a real mutation: the table the mutation writes is briefly gone.
    await cp.prisma.$executeRawUnsafe(`ALTER TABLE "Group" RENAME TO "Group_hidden_by_test"`);
    try {
      const mutation = await refusedWithoutChange(() => cp.gql(`mutation { ${createGroup(groupName())} }`), { countGroups: false });
      const query = await cp.gql(`{ groups { totalCount } }`);
      for (const result of [mutation, query]) {
        expect(result.errors).toHaveLength(1);
        expect(result.errors?.[0]).toMatchObject({ message: "Unexpected error.", extensions: { code: "INTERNAL_SERVER_ERROR" } });
        expect(Object.keys(result.errors![0]!).sort()).toEqual(["extensions", "locations", "message", "path"]);
        const text = JSON.stringify([result.errors![0]!.message, result.errors![0]!.extensions]);
        for (const leak of ["Group", "table", "exist", "prisma", "at ", "stack", "P20"]) expect(text).not.toContain(leak);
      }
    } finally {
      await cp.prisma.$executeRawUnsafe(`ALTER TABLE "Group_hidden_by_test" RENAME TO "Group"`);
    }
    expect((await cp.gql(`{ groups { totalCount } }`)).errors).toBeUndefined();
  });
});
