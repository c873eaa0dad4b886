// The RateLimit type: per-minute request and token caps, a per-second request (burst) cap and a concurrency cap;
// null means no cap there.
import { builder } from "../builder.ts";

builder.prismaObject("RateLimit", {
  fields: (t) => ({
    id: t.exposeID("id"),
    requestsPerMinute: t.exposeInt("requestsPerMinute", { nullable: true }),
    requestsPerSecond: t.exposeInt("requestsPerSecond", {
      nullable: true,
      description: "A burst cap over a sliding second (any 1000 ms), counted beside requestsPerMinute.",
    }),
    tokensPerMinute: t.exposeInt("tokensPerMinute", { nullable: true }),
    concurrentRequests: t.exposeInt("concurrentRequests", { nullable: true }),
    user: t.relation("user", { nullable: true }),
    group: t.relation("group", { nullable: true }),
    virtualAccount: t.relation("virtualAccount", { nullable: true }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});
