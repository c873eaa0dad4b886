// Writes usage batches to Postgres; requestId is unique, so a batch retried after a lost reply never counts twice.
import type { Db } from "../../control-plane/db/client.ts";
import type { UsageRecordInput } from "../contracts.ts";

export function prismaUsageWrite(prisma: Pick<Db, "usageRecord">): (records: UsageRecordInput[]) => Promise<void> {
  return async (records) => {
    await prisma.usageRecord.createMany({ data: records, skipDuplicates: true });
  };
}
