// Usage records: buffered off the request path, written to Postgres in batches.
export { insertUsageRecords } from "./insert-usage-records.ts";
export { createUsageWriter, type UsageWriter, type UsageWriterOptions } from "./usage-writer.ts";
