// Live changes: one subscription streaming every committed change, filterable by kind and target.
import { filter, pipe } from "@graphql-yoga/subscription";
import { builder } from "../builder.ts";
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
    description: "Committed changes as they happen. Filter by kinds (any of) and/or one target id.",
    args: {
      kinds: t.arg({ type: [ChangeKindEnum], required: false }),
      targetId: t.arg.id({ required: false }),
    },
    subscribe: (_root, args, ctx) => {
      const kinds = args.kinds?.length ? new Set<string>(args.kinds) : null;
      const targetId = args.targetId == null ? null : String(args.targetId);
      return pipe(
        ctx.bus.subscribe(),
        filter((e: ChangeEvent) => (!kinds || kinds.has(e.kind)) && (targetId === null || e.targetId === targetId)),
      );
    },
    resolve: (event) => event,
  }),
}));
