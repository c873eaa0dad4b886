// Live changes: one subscription streaming every committed change, filterable by kind and target. Admins see every
// change; anyone else only changes to their own user. The caller is checked again for every event.
import { reloadCaller } from "../auth/current-caller.ts";
import { Repeater } from "@graphql-yoga/subscription";
import { builder } from "../builder.ts";
import type { Context } from "../context.ts";
import { type ChangeEvent, changeKinds } from "../events/change-event.ts";

const ChangeKindEnum = builder.enumType("ChangeKind", { values: changeKinds });

const ChangeEventRef = builder.objectRef<ChangeEvent>("ChangeEvent").implement({
  description: "A committed control-plane change. `version` increases by one per change; a gap means a missed event.",
  fields: (t) => ({
    kind: t.field({ type: ChangeKindEnum, resolve: (e) => e.kind }),
    action: t.exposeString("action"),
    targetType: t.exposeString("targetType"),
    targetId: t.exposeID("targetId"),
    version: t.exposeString("version"),
    at: t.field({ type: "DateTime", resolve: (e) => new Date(e.at) }),
  }),
});

builder.subscriptionFields((t) => ({
  changes: t.field({
    type: ChangeEventRef,
    description:
      "Committed changes as they happen. Filter by kinds (any of) and/or one target id. Admins receive every change, " +
      "other users only changes whose target is themselves. The stream ends when the key is revoked or expires or the user is disabled.",
    args: {
      kinds: t.arg({ type: [ChangeKindEnum], required: false }),
      targetId: t.arg.id({ required: false }),
    },
    subscribe: (_root, args, ctx) => {
      const kinds = args.kinds?.length ? new Set<string>(args.kinds) : null;
      const targetId = args.targetId == null ? null : String(args.targetId);
      const wanted = (e: ChangeEvent) => (!kinds || kinds.has(e.kind)) && (targetId === null || e.targetId === targetId);
      // The root type's `authenticated` scope has run at subscribe time; every event re-checks the caller.
      return authorizedEvents(ctx, wanted);
    },
    resolve: (event) => event,
  }),
}));

type Verdict = "deliver" | "skip" | "end";

/**
 * The caller as they are now, reloaded (key and user in one query) for every event the subscriber asked for: a key
 * revoked or expired, or a user disabled since subscribing, ends the stream; a demoted admin gets only their own changes.
 */
async function verdictFor(ctx: Context, event: ChangeEvent): Promise<Verdict> {
  const current = await reloadCaller(ctx);
  if (!current) return "end";
  if (current.isOrgAdmin) return "deliver";
  return event.targetId === current.userId ? "deliver" : "skip";
}

/** The change bus, narrowed to what the caller asked for and may see. */
function authorizedEvents(ctx: Context, wanted: (e: ChangeEvent) => boolean): AsyncIterable<ChangeEvent> {
  // A Repeater (not an async generator) so that unsubscribing stops at once, even while waiting for the next change.
  return new Repeater<ChangeEvent>(async (push, stop) => {
    const changes = ctx.bus.subscribe()[Symbol.asyncIterator]();
    void stop.then(() => changes.return?.());
    for (let next = await changes.next(); !next.done; next = await changes.next()) {
      if (!wanted(next.value)) continue;
      const verdict = await verdictFor(ctx, next.value);
      if (verdict === "end") break;
      if (verdict === "deliver") await push(next.value);
    }
    stop();
  });
}
