import { describe, expect, it } from "vitest";
import { usdToMicros } from "../../../shared/money.ts";
import { effectivePolicy } from "../../../shared/policy/index.ts";
import { emptyInput, group, model, provider, route, user } from "./fixtures.ts";

const ada = user("u1", "Ada");
const engineering = group("g1", "Engineering");
const interns = group("g2", "Interns");

describe("effectivePolicy", () => {
  it("composes models, strictest limits and strictest budgets with their sources", () => {
    const policy = effectivePolicy(
      emptyInput(ada, {
        groups: [engineering, interns],
        models: [model("m-b", [route("r1", "openai")], "b-model"), model("m-a", [route("r2", "openai")], "a-model")],
        providers: [provider("openai")],
        providerAccess: [{ providerId: "openai", level: "USER", subject: engineering }],
        limits: [
          { subject: ada, limits: { requestsPerMinute: 100 } },
          { subject: engineering, limits: { requestsPerMinute: 60 } },
        ],
        budgets: [
          { subject: engineering, period: "DAILY", capMicros: usdToMicros("50") },
          { subject: interns, period: "DAILY", capMicros: usdToMicros("20") },
        ],
      }),
    );
    expect(policy.principal).toEqual(ada);
    expect(policy.models.map((m) => m.model.slug)).toEqual(["a-model", "b-model"]);
    expect(policy.limits).toEqual({ requestsPerMinute: { value: 60, source: engineering } });
    expect(policy.budgets).toEqual({ DAILY: { period: "DAILY", capMicros: usdToMicros("20"), source: interns } });
  });

  it("gives an empty policy to a principal with nothing attached", () => {
    expect(effectivePolicy(emptyInput(ada))).toEqual({ principal: ada, models: [], limits: {}, budgets: {} });
  });
});
