// Turns Prisma's known request errors into the API's typed errors; anything else stays unexpected (masked).
import { AppError, ConflictError, NotFoundError } from "../errors.ts";
import { Prisma } from "../db/generated/prisma/client.ts";

export function mapPrismaError(error: unknown): unknown {
  if (error instanceof AppError) return error;
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return error;
  const meta = (error.meta ?? {}) as Record<string, unknown>;
  switch (error.code) {
    case "P2002": {
      const fields = uniqueFields(meta);
      return new ConflictError(`a record with this ${fields.join(", ") || "value"} already exists`, fields.join(","));
    }
    case "P2025":
      return new NotFoundError(String(meta.modelName ?? "record"), "(requested)");
    case "P2003":
      return new NotFoundError("referenced record", String(meta.field_name ?? meta.constraint ?? "(unknown)"));
    default:
      return error;
  }
}

function uniqueFields(meta: Record<string, unknown>): string[] {
  if (Array.isArray(meta.target)) return meta.target.map(String);
  const driver = meta.driverAdapterError as { cause?: { constraint?: { fields?: string[] } } } | undefined;
  return driver?.cause?.constraint?.fields?.map((f) => f.replaceAll('"', "")) ?? [];
}
