// Seeds the benchmark's policy with Prisma: a provider on the mock, one model per mock behaviour, a member with a grant,
// a generous rate limit and budget (so nothing is refused but both are checked) and an inference key.
import { createDb } from "../../control-plane/db/client.ts";
import { issueApiKey } from "../../control-plane/keys/issue-api-key.ts";
import type { CredentialCipher } from "../../shared/credential-cipher.ts";

/** Gateway slug -> the upstream model name the mock reads its behaviour from (direct and bare arms send the latter). */
export type SlugMap = Record<string, string>;

export async function seedPolicy(databaseUrl: string, cipher: CredentialCipher, mockUrl: string, upstreamModels: SlugMap): Promise<string> {
  const prisma = createDb(databaseUrl, 1);
  try {
    const provider = await prisma.provider.create({
      data: { name: "bench mock", kind: "openai", baseUrl: `${mockUrl}/v1`, credentialsCiphertext: cipher.encrypt("sk-bench"), credentialsLast4: "ench" },
    });
    const user = await prisma.user.create({ data: { email: "bench@tollgate.test", name: "bench", role: "MEMBER" } });
    // Sections may route different slugs to one upstream model: one provider model each.
    const providerModels = new Map<string, { id: string }>();
    for (const [slug, upstreamName] of Object.entries(upstreamModels)) {
      let pm = providerModels.get(upstreamName);
      if (pm === undefined) {
        pm = await prisma.providerModel.create({
          data: { providerId: provider.id, upstreamName, inputPricePerMTok: 1_000_000n, outputPricePerMTok: 2_000_000n },
        });
        providerModels.set(upstreamName, pm);
      }
      const model = await prisma.model.create({ data: { slug, displayName: slug } });
      await prisma.modelRoute.create({ data: { modelId: model.id, providerModelId: pm.id } });
      await prisma.modelGrant.create({ data: { modelId: model.id, userId: user.id } });
    }
    await prisma.rateLimit.create({ data: { userId: user.id, requestsPerMinute: 1_000_000_000, tokensPerMinute: 1_000_000_000 } });
    await prisma.budget.create({ data: { userId: user.id, period: "MONTHLY", capMicros: 1_000_000_000_000_000n } });
    const { secret } = await prisma.$transaction((tx) =>
      issueApiKey(tx, {
        owner: { userId: user.id },
        name: "bench",
        scopes: ["inference"],
        rateLimit: { requestsPerMinute: 1_000_000_000, tokensPerMinute: 1_000_000_000, concurrentRequests: null },
        budgets: [{ period: "DAILY", capMicros: 1_000_000_000_000_000n }],
      }),
    );
    return secret;
  } finally {
    await prisma.$disconnect();
  }
}
