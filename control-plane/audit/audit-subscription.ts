// Live audit events: every committed change's audit event, as it happens, for org admins who still are.
import { Repeater } from "@graphql-yoga/subscription";
import { forbidden } from "../auth/authenticate.ts";
import { builder } from "../builder.ts";
import type { Context } from "../context.ts";
import type { AuditEvent } from "../db/generated/prisma/client.ts";
import type { ChangeEvent } from "../events/change-event.ts";
import { AuditEventRef } from "./audit-event-type.ts";
import { type AuditFilter, AuditFilterInput, matchesAuditFilter, parseAuditFilter } from "./audit-filter.ts";
import { stillOrgAdmin } from "./subscriber-authorization.ts";

/** Pushed once when the subscriber lost the right to read the log; the resolver turns it into FORBIDDEN. */
const REVOKED = Symbol("revoked");

builder.subscriptionFields((t) => ({
  auditEvents: t.field({
    type: AuditEventRef,
    authScopes: { orgAdmin: true },
    description:
      "Audit events as changes commit. Ends with FORBIDDEN as soon as the subscriber is no longer an active org admin with a valid key.",
    args: { filter: t.arg({ type: AuditFilterInput, required: false }) },
    subscribe: (_root, args, ctx) => auditEventStream(ctx, parseAuditFilter(args.filter)),
    resolve: (item) => {
      if (item === REVOKED) throw forbidden("you are no longer allowed to read the audit log");
      return item;
    },
  }),
}));

function auditEventStream(ctx: Context, filter: AuditFilter): AsyncIterable<AuditEvent | typeof REVOKED> {
  // A Repeater (not an async generator) so that unsubscribing stops at once, even while waiting for the next change.
  return new Repeater<AuditEvent | typeof REVOKED>(async (push, stop) => {
    const changes = ctx.bus.subscribe()[Symbol.asyncIterator]();
    void stop.then(() => changes.return?.());
    for (let next = await changes.next(); !next.done; next = await changes.next()) {
      if (!(await stillOrgAdmin(ctx))) {
        await push(REVOKED);
        break;
      }
      if (!mayMatch(filter, next.value)) continue;
      const event = await ctx.prisma.auditEvent.findUnique({ where: { id: BigInt(next.value.auditId) } });
      if (event && matchesAuditFilter(filter, event)) await push(event);
    }
    stop();
  });
}

/** Skips loading events the change itself already rules out. */
function mayMatch(filter: AuditFilter, change: ChangeEvent): boolean {
  return (
    (!filter.targetType || change.targetType === filter.targetType) &&
    (!filter.targetId || change.targetId === filter.targetId) &&
    (!filter.action || change.action === filter.action) &&
    (!filter.actionPrefix || change.action.startsWith(filter.actionPrefix))
  );
}
