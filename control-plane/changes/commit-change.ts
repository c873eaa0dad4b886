// Every mutation goes through here: one transaction that applies the change, bumps the policy version
// and writes the audit event; the change event is published only after the commit.
import type { Context } from "../context.ts";
import type { Tx } from "../db/client.ts";
import type { ChangeEvent, ChangeKind } from "../events/change-event.ts";
import { bumpPolicyVersion } from "./policy-version.ts";
import { mapPrismaError } from "./prisma-errors.ts";

export interface ChangeSpec<T> {
  kind: ChangeKind;
  /** Audit action, `<entity>.<verb>`, e.g. `group.create`. */
  action: string;
  targetType: string;
  run(tx: Tx): Promise<ChangeOutcome<T>>;
}

export interface ChangeOutcome<T> {
  result: T;
  targetId: string;
  before?: unknown;
  after?: unknown;
  /** What the change event carries besides its target, for data planes to act on before they re-read (change-event.ts). */
  detail?: Pick<ChangeEvent, "caps" | "revokedGrant" | "removedAccess">;
}

export async function commitChange<T>(ctx: Context, spec: ChangeSpec<T>): Promise<T> {
  let outcome: ChangeOutcome<T>;
  let version: bigint;
  let auditId: bigint;
  try {
    [outcome, version, auditId] = await ctx.prisma.$transaction(async (tx) => {
      const done = await spec.run(tx);
      const version = await bumpPolicyVersion(tx);
      const audit = await tx.auditEvent.create({
        data: {
          actorId: ctx.caller?.userId ?? null,
          actorLabel: ctx.caller?.label ?? "system",
          action: spec.action,
          targetType: spec.targetType,
          targetId: done.targetId,
          before: toJson(done.before),
          after: toJson(done.after),
          sourceIp: ctx.sourceIp,
        },
      });
      return [done, version, audit.id] as const;
    });
  } catch (error) {
    throw mapPrismaError(error);
  }
  ctx.bus.publish({
    kind: spec.kind,
    action: spec.action,
    targetType: spec.targetType,
    targetId: outcome.targetId,
    version: version.toString(),
    at: new Date().toISOString(),
    auditId: auditId.toString(),
    ...outcome.detail,
  });
  return outcome.result;
}

/** Audit snapshots are JSON: bigints become decimal strings, dates ISO strings. */
function toJson(value: unknown): object | undefined {
  if (value === undefined || value === null) return undefined;
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))) as object;
}
