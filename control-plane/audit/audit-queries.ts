// Reading the audit log: newest first, filtered, with cursor pagination.
import { builder } from "../builder.ts";
import { AuditFilterInput, auditWhere, parseAuditFilter } from "./audit-filter.ts";
import { pagedQuery } from "../db/paged-query.ts";

builder.queryFields((t) => ({
  auditEvents: t.prismaConnection({
    type: "AuditEvent",
    cursor: "id",
    authScopes: { orgAdmin: true },
    description: "The audit log, newest first. Org admins only.",
    args: { filter: t.arg({ type: AuditFilterInput, required: false }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.auditEvent.findMany({ ...pagedQuery(query), where: auditWhere(parseAuditFilter(args.filter)), orderBy: { id: "desc" } }),
    totalCount: (_conn, args, ctx) => ctx.prisma.auditEvent.count({ where: auditWhere(parseAuditFilter(args.filter)) }),
  }),
}));
