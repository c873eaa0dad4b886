// Existence checks inside a change's transaction, answering with typed NotFound errors instead of FK failures.
import type { Tx } from "./db/client.ts";
import { NotFoundError } from "./errors.ts";

export async function findUserOrThrow(tx: Tx, id: string) {
  return (await tx.user.findUnique({ where: { id } })) ?? notFound("User", id);
}

export async function findGroupOrThrow(tx: Tx, id: string) {
  return (await tx.group.findUnique({ where: { id } })) ?? notFound("Group", id);
}

export async function findVirtualAccountOrThrow(tx: Tx, id: string) {
  return (await tx.virtualAccount.findUnique({ where: { id } })) ?? notFound("VirtualAccount", id);
}

export async function findProviderOrThrow(tx: Tx, id: string) {
  return (await tx.provider.findUnique({ where: { id } })) ?? notFound("Provider", id);
}

export async function findProviderModelOrThrow(tx: Tx, id: string) {
  return (await tx.providerModel.findUnique({ where: { id } })) ?? notFound("ProviderModel", id);
}

export async function findModelOrThrow(tx: Tx, id: string) {
  return (await tx.model.findUnique({ where: { id } })) ?? notFound("Model", id);
}

export async function requireUsers(tx: Tx, ids: string[]): Promise<void> {
  const found = await tx.user.findMany({ where: { id: { in: ids } }, select: { id: true } });
  const known = new Set(found.map((u) => u.id));
  const missing = ids.find((id) => !known.has(id));
  if (missing) notFound("User", missing);
}

function notFound(entity: string, id: string): never {
  throw new NotFoundError(entity, id);
}
