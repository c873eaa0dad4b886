// Usage records: buffered off the request path, written to Postgres in batches.
export { prismaUsageWrite } from "./prisma-usage-write.ts";
export { createUsageWriter, type UsageWriter, type UsageWriterOptions } from "./usage-writer.ts";
