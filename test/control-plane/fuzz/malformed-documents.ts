// Requests that are not a well-formed GraphQL operation at all: bad JSON, wrong envelope, syntax errors, every
// document limit exceeded, batches, oversized bodies, missing or bad keys, browser "simple requests".
import fc from "fast-check";

export interface MalformedRequest {
  label: string;
  body: string;
  headers?: Record<string, string>;
}

const op = (query: string, extra: Record<string, unknown> = {}) => JSON.stringify({ query, ...extra });

export function malformedDocuments(): fc.Arbitrary<MalformedRequest> {
  const envelope = fc.constantFrom(
    "{", "[]", "{}", '"text"', "null", "12", '{"query": 123}', '{"query": null}', '{"query": ""}',
    op("{ me { id } }", { variables: "not an object" }), op("{ me { id } }", { operationName: 5 }), op("{ me { id } }", { operationName: "Missing" }),
    op("query A { me { id } } query B { me { id } }"), op("query ($x: Int!) { me { id } }", { variables: { x: "nope" } }),
    op("subscription { auditEvents { action } }"), op("{ __schema { types { name } } }"), op("{ me { id } }", { extensions: { persistedQuery: { sha256Hash: "x" } } }),
  );
  const syntax = fc.string({ maxLength: 200 }).map((s) => op(s));
  const nested = fc.integer({ min: 5, max: 40 }).map((n) => op(`{ me { ${"groups { members { ".repeat(n)}id${" } }".repeat(n)} } }`));
  const aliases = fc.integer({ min: 10, max: 60 }).map((n) => op(`{ ${Array.from({ length: n }, (_, i) => `a${i}: me { id }`).join(" ")} }`));
  const directives = fc.integer({ min: 10, max: 60 }).map((n) => op(`{ me ${"@skip(if: false) ".repeat(n)}{ id } }`));
  const tokens = fc.integer({ min: 500, max: 3000 }).map((n) => op(`{ me { ${"id ".repeat(n)}} }`));
  const costly = fc.constantFrom(100, 1000, 100_000, 2_147_483_647, -1).map((n) => op(`{ users(first: ${n}) { edges { node { id groups { id } } } } }`));
  const batch = fc.integer({ min: 2, max: 14 }).map((n) => JSON.stringify(Array.from({ length: n }, () => ({ query: "{ me { id } }" }))));
  const asRequest = (label: string) => (body: string): MalformedRequest => ({ label, body });
  return fc.oneof(
    envelope.map(asRequest("envelope")),
    syntax.map(asRequest("syntax")),
    nested.map(asRequest("deep")),
    aliases.map(asRequest("aliases")),
    directives.map(asRequest("directives")),
    tokens.map(asRequest("tokens")),
    costly.map(asRequest("costly")),
    batch.map(asRequest("batch")),
    fc.constantFrom<MalformedRequest>(
      { label: "too large", body: op(`{ me { id } } # ${"x".repeat(1_100_000)}`) },
      { label: "no key", body: op("{ me { id } }"), headers: { authorization: "" } },
      { label: "bad key", body: op("{ me { id } }"), headers: { authorization: "Bearer tg_pat_nope" } },
      { label: "basic auth", body: op("{ me { id } }"), headers: { authorization: "Basic dXNlcjpwYXNz" } },
      { label: "simple request", body: "query={me{id}}", headers: { "content-type": "text/plain" } },
      { label: "form", body: "query=%7Bme%7Bid%7D%7D", headers: { "content-type": "application/x-www-form-urlencoded" } },
    ),
  );
}
