-- AlterTable
ALTER TABLE "RateLimit" ADD COLUMN     "requestsPerSecond" INTEGER;

-- Like the other limit columns (init migration): a limit is never negative.
ALTER TABLE "RateLimit" ADD CONSTRAINT "RateLimit_requests_per_second_non_negative" CHECK ("requestsPerSecond" >= 0);
