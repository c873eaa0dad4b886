// Usage records: buffered off the request path, written to Postgres in batches.
export { createDropLog, type DropLog } from "./drop-log.ts";
export { insertUsageRecords, refusedByDatabase } from "./insert-usage-records.ts";
export { createUsageWriter, type DropReason, type UsageWriter, type UsageWriterOptions } from "./usage-writer.ts";
