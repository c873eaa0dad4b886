// A small GraphQL-over-HTTP client for benchmark sections: undici Pool, one request at a time, timed.
import { Pool } from "undici";

export interface GraphQLClient {
  /** Sends the operation, throws on HTTP or GraphQL errors, and returns `data` with the round trip in ms. */
  request<T = any>(query: string, variables?: Record<string, unknown>): Promise<{ data: T; ms: number }>;
  close(): Promise<void>;
}

export function graphqlClient(url: string, key: string): GraphQLClient {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: 4 });
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json", accept: "application/json" };
  return {
    async request(query, variables) {
      const t0 = performance.now();
      const res = await pool.request({ path: target.pathname, method: "POST", headers, body: JSON.stringify({ query, variables }) });
      const text = await res.body.text();
      const ms = performance.now() - t0;
      const body = JSON.parse(text) as { data?: any; errors?: { message: string }[] };
      if (res.statusCode !== 200 || body.errors?.length) throw new Error(`GraphQL ${res.statusCode}: ${text.slice(0, 500)}`);
      return { data: body.data, ms };
    },
    close: () => pool.close(),
  };
}
