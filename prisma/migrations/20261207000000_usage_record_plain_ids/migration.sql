-- Usage records keep plain ids (see the comment on UsageRecord in schema.prisma): the data plane's inserts no longer
-- check and lock the user, virtual account and key rows, and a record is never refused because one of them is gone.

-- DropForeignKey
ALTER TABLE "UsageRecord" DROP CONSTRAINT "UsageRecord_userId_fkey";

-- DropForeignKey
ALTER TABLE "UsageRecord" DROP CONSTRAINT "UsageRecord_virtualAccountId_fkey";

-- DropForeignKey
ALTER TABLE "UsageRecord" DROP CONSTRAINT "UsageRecord_apiKeyId_fkey";

