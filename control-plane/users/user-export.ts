// Serves GET /export/users.json and /export/users.xlsx: the users table (respecting ?search=) for administrators,
// authenticated by API key like /graphql, and recorded in the audit log.
import type { Plugin } from "graphql-yoga";
import { GraphQLError } from "graphql";
import { authenticate, presentedKey } from "../auth/authenticate.ts";
import { type Caller, isOrgAdmin } from "../auth/caller.ts";
import type { Db } from "../db/client.ts";
import { type UserExportRow, userExportPages } from "./user-export-rows.ts";
import { userExportXlsx } from "./user-export-xlsx.ts";

const ROUTES = {
  "/export/users.json": "json",
  "/export/users.xlsx": "xlsx",
} as const;
type Format = (typeof ROUTES)[keyof typeof ROUTES];

const CONTENT_TYPES: Record<Format, string> = {
  json: "application/json; charset=utf-8",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
};

type ServerContext = { req?: { socket?: { remoteAddress?: string } } };

export function useUserExport(prisma: Db): Plugin {
  return {
    async onRequest({ request, url, serverContext, endResponse, fetchAPI }) {
      const format = (ROUTES as Record<string, Format | undefined>)[url.pathname];
      if (!format) return;
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
        new fetchAPI.Response(JSON.stringify(body), { status, headers: { "content-type": CONTENT_TYPES.json, "cache-control": "no-store", ...headers } });
      if (request.method !== "GET") {
        endResponse(json(405, { error: "method_not_allowed", message: "use GET" }, { allow: "GET" }));
        return;
      }
      const caller = await authorize(prisma, request.headers);
      if ("refusal" in caller) {
        endResponse(json(caller.refusal.status, { error: caller.refusal.error, message: caller.refusal.message }));
        return;
      }
      const search = url.searchParams.get("search")?.trim() || null;
      const exportedAt = new Date();
      const rows: UserExportRow[] = [];
      for await (const page of userExportPages(prisma, search)) rows.push(...page);
      const body = format === "json" ? JSON.stringify({ exportedAt, search, users: rows }) : await userExportXlsx(rows, exportedAt);
      await prisma.auditEvent.create({
        data: {
          actorId: caller.userId,
          actorLabel: caller.label,
          action: "user.export",
          targetType: "User",
          after: { format, search, count: rows.length },
          sourceIp: (serverContext as ServerContext).req?.socket?.remoteAddress ?? null,
        },
      });
      const stamp = exportedAt.toISOString().slice(0, 19).replace(/:/g, "-");
      endResponse(
        new fetchAPI.Response(body, {
          status: 200,
          headers: {
            "content-type": CONTENT_TYPES[format],
            "content-disposition": `attachment; filename="tollgate-users-${stamp}.${format}"`,
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
          },
        }),
      );
    },
  };
}

type Refusal = { refusal: { status: number; error: string; message: string } };

/** The same rules as /graphql: a valid admin-scoped key, and on top of it an OWNER or ADMIN role. */
async function authorize(prisma: Db, headers: Headers): Promise<Caller | Refusal> {
  let caller: Caller | null;
  try {
    caller = await authenticate(prisma, presentedKey(headers));
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    const status = (error.extensions.http as { status?: number } | undefined)?.status ?? 401;
    return { refusal: { status, error: status === 403 ? "forbidden" : "unauthenticated", message: error.message } };
  }
  if (!caller) {
    return { refusal: { status: 401, error: "unauthenticated", message: "send an API key as `Authorization: Bearer <key>`" } };
  }
  if (!isOrgAdmin(caller)) {
    return { refusal: { status: 403, error: "forbidden", message: "only OWNERs and ADMINs may export users" } };
  }
  return caller;
}
