import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  canManageProvider,
  effectiveModelAccess,
  routesForModel,
  type ModelAccess,
  type PrincipalPolicyInput,
  type Subject,
} from "../../../shared/policy/index.ts";
import {
  accessInputArb,
  emptyInput,
  grantArb,
  group,
  GROUPS,
  model,
  PRINCIPAL,
  provider,
  providerAccessArb,
  route,
  STRANGER,
  user,
} from "./fixtures.ts";

const ada = PRINCIPAL;
const [engineering, interns] = GROUPS as [Subject, Subject, Subject];
const slugs = (access: ModelAccess[]) => access.map((a) => a.model.slug);
const routeIds = (access: ModelAccess | undefined) => access?.routes.map((r) => r.id);

const openai = provider("openai");
const anthropic = provider("anthropic");
const gpt = model("gpt", [route("gpt-openai", "openai")], "gpt-4o");
const claude = model("claude", [route("claude-anthropic", "anthropic")], "claude-sonnet");
// One facade served by two providers.
const llama = model("llama", [route("llama-openai", "openai", { priority: 2 }), route("llama-anthropic", "anthropic", { priority: 1 })], "llama-70b");

describe("effectiveModelAccess — examples from the docs", () => {
  it("gives no models to a principal with no grants and no provider access", () => {
    const input = emptyInput(ada, { groups: [engineering], models: [gpt, claude], providers: [openai, anthropic] });
    expect(effectiveModelAccess(input)).toEqual([]);
  });

  it("unions a personal grant with two group grants and lists all three reasons", () => {
    const input = emptyInput(ada, {
      groups: [engineering, interns],
      models: [gpt, claude],
      providers: [openai, anthropic],
      grants: [
        { modelId: "gpt", subject: interns },
        { modelId: "gpt", subject: ada },
        { modelId: "gpt", subject: engineering },
        { modelId: "claude", subject: interns },
      ],
    });
    const access = effectiveModelAccess(input);
    expect(slugs(access)).toEqual(["claude-sonnet", "gpt-4o"]);
    expect(access[1]!.reasons).toEqual([
      { kind: "grant", via: ada },
      { kind: "grant", via: engineering },
      { kind: "grant", via: interns },
    ]);
    expect(access[0]!.reasons).toEqual([{ kind: "grant", via: interns }]);
  });

  it("ignores grants to subjects that are neither the principal nor one of its groups", () => {
    const input = emptyInput(ada, {
      groups: [engineering],
      models: [gpt],
      providers: [openai],
      grants: [{ modelId: "gpt", subject: STRANGER }, { modelId: "gpt", subject: user("u2") }],
    });
    expect(effectiveModelAccess(input)).toEqual([]);
  });

  it("gives every model routed to a provider to whoever has access to that provider", () => {
    const input = emptyInput(ada, {
      groups: [engineering],
      models: [gpt, claude, llama],
      providers: [openai, anthropic],
      providerAccess: [{ providerId: "openai", level: "USER", subject: engineering }],
    });
    const access = effectiveModelAccess(input);
    expect(slugs(access)).toEqual(["gpt-4o", "llama-70b"]);
    expect(access[0]!.reasons).toEqual([
      { kind: "providerAccess", via: engineering, providerId: "openai", providerName: "Provider openai", level: "USER" },
    ]);
  });

  it("does not reach a model through a provider whose only route to it is inactive", () => {
    const dormant = model("dormant", [route("dormant-openai", "openai", { active: false })]);
    const input = emptyInput(ada, {
      models: [dormant],
      providers: [openai],
      providerAccess: [{ providerId: "openai", level: "MANAGER", subject: ada }],
    });
    expect(effectiveModelAccess(input)).toEqual([]);
  });

  it("uses all active routes of a granted model but only accessible-provider routes otherwise", () => {
    const base = {
      models: [llama],
      providers: [openai, anthropic],
      providerAccess: [{ providerId: "openai", level: "USER" as const, subject: ada }],
    };
    const viaProvider = effectiveModelAccess(emptyInput(ada, base));
    expect(routeIds(viaProvider[0])).toEqual(["llama-openai"]);

    const granted = effectiveModelAccess(emptyInput(ada, { ...base, grants: [{ modelId: "llama", subject: ada }] }));
    // Sorted by priority: the anthropic route has priority 1, openai 2.
    expect(routeIds(granted[0])).toEqual(["llama-anthropic", "llama-openai"]);
    expect(granted[0]!.reasons.map((r) => r.kind)).toEqual(["grant", "providerAccess"]);
  });

  it("never uses an inactive route, even for a granted model", () => {
    const mixed = model("mixed", [route("on", "openai"), route("off", "openai", { active: false })]);
    const input = emptyInput(ada, { models: [mixed], providers: [openai], grants: [{ modelId: "mixed", subject: ada }] });
    expect(routeIds(effectiveModelAccess(input)[0])).toEqual(["on"]);
  });

  it("skips routes on inactive providers", () => {
    const input = emptyInput(ada, {
      models: [llama],
      providers: [openai, provider("anthropic", false)],
      grants: [{ modelId: "llama", subject: ada }],
    });
    expect(routeIds(effectiveModelAccess(input)[0])).toEqual(["llama-openai"]);
  });

  it("still lists a model reached only through an inactive provider, with no routes, so callers can answer 503", () => {
    const input = emptyInput(ada, {
      models: [claude],
      providers: [provider("anthropic", false)],
      providerAccess: [{ providerId: "anthropic", level: "USER", subject: ada }],
    });
    const access = effectiveModelAccess(input);
    expect(slugs(access)).toEqual(["claude-sonnet"]);
    expect(access[0]!.routes).toEqual([]);
    expect(access[0]!.reasons).toHaveLength(1);
  });

  it("orders routes by priority, then id", () => {
    const m = model("m", [
      route("b", "openai", { priority: 1 }),
      route("c", "openai", { priority: 0 }),
      route("a", "openai", { priority: 1 }),
    ]);
    const input = emptyInput(ada, { models: [m], providers: [openai], grants: [{ modelId: "m", subject: ada }] });
    expect(routeIds(effectiveModelAccess(input)[0])).toEqual(["c", "a", "b"]);
  });

  it("lists a duplicated grant row once", () => {
    const grant = { modelId: "gpt", subject: ada };
    const input = emptyInput(ada, { models: [gpt], providers: [openai], grants: [grant, grant] });
    expect(effectiveModelAccess(input)[0]!.reasons).toHaveLength(1);
  });
});

describe("routesForModel", () => {
  it("returns the usable routes for an accessible slug and undefined otherwise", () => {
    const access = effectiveModelAccess(
      emptyInput(ada, { models: [gpt, claude], providers: [openai, anthropic], grants: [{ modelId: "gpt", subject: ada }] }),
    );
    expect(routesForModel(access, "gpt-4o")?.map((r) => r.id)).toEqual(["gpt-openai"]);
    expect(routesForModel(access, "claude-sonnet")).toBeUndefined();
  });
});

describe("canManageProvider", () => {
  const rows = [
    { providerId: "openai", level: "USER" as const, subject: ada },
    { providerId: "anthropic", level: "MANAGER" as const, subject: engineering },
    { providerId: "mistral", level: "MANAGER" as const, subject: STRANGER },
  ];
  it("is true with MANAGER access held by one of the principal's groups", () => {
    expect(canManageProvider(rows, ada, [engineering], "anthropic")).toBe(true);
  });
  it("is false with only USER access", () => {
    expect(canManageProvider(rows, ada, [engineering], "openai")).toBe(false);
  });
  it("is false when the MANAGER row belongs to someone else", () => {
    expect(canManageProvider(rows, ada, [engineering], "mistral")).toBe(false);
    expect(canManageProvider(rows, ada, [], "anthropic")).toBe(false);
  });
});

// Restricts the input to the rows one subject holds, as if that subject were the principal's only source of access.
function onlyFrom(input: PrincipalPolicyInput, holder: Subject): PrincipalPolicyInput {
  const same = (s: Subject) => s.kind === holder.kind && s.id === holder.id;
  return {
    ...input,
    grants: input.grants.filter((g) => same(g.subject)),
    providerAccess: input.providerAccess.filter((a) => same(a.subject)),
  };
}

const asKeys = (access: ModelAccess[]) => ({
  models: new Set(access.map((a) => a.model.id)),
  routes: new Set(access.flatMap((a) => a.routes.map((r) => `${a.model.id}/${r.id}`))),
  reasons: new Set(access.flatMap((a) => a.reasons.map((r) => `${a.model.id}/${JSON.stringify(r)}`))),
});

describe("effectiveModelAccess — laws", () => {
  it("is the union of the access each holder (principal or group) gives on its own: models, routes and reasons", () => {
    fc.assert(
      fc.property(accessInputArb, (input) => {
        const whole = asKeys(effectiveModelAccess(input));
        const parts = [input.principal, ...input.groups].map((h) => asKeys(effectiveModelAccess(onlyFrom(input, h))));
        const union = (pick: (k: ReturnType<typeof asKeys>) => Set<string>) =>
          new Set(parts.flatMap((p) => [...pick(p)]));
        expect(whole.models).toEqual(union((k) => k.models));
        expect(whole.routes).toEqual(union((k) => k.routes));
        expect(whole.reasons).toEqual(union((k) => k.reasons));
      }),
    );
  });

  it("never loses a model or route when a grant, provider access or group is added", () => {
    fc.assert(
      fc.property(accessInputArb, grantArb, providerAccessArb, fc.constantFrom(...GROUPS), (input, g, a, extraGroup) => {
        const before = asKeys(effectiveModelAccess(input));
        const widened = [
          { ...input, grants: [...input.grants, g] },
          { ...input, providerAccess: [...input.providerAccess, a] },
          { ...input, groups: [...input.groups, extraGroup] },
        ];
        for (const next of widened) {
          const after = asKeys(effectiveModelAccess(next));
          for (const id of before.models) expect(after.models).toContain(id);
          for (const id of before.routes) expect(after.routes).toContain(id);
        }
      }),
    );
  });

  it("gives no models without any grant or provider access of the principal or its groups", () => {
    fc.assert(
      fc.property(accessInputArb, (input) => {
        const stranger = group(STRANGER.id, STRANGER.name);
        const only = {
          ...input,
          grants: input.grants.map((g) => ({ ...g, subject: stranger })),
          providerAccess: input.providerAccess.map((a) => ({ ...a, subject: stranger })),
        };
        expect(effectiveModelAccess(only)).toEqual([]);
      }),
    );
  });

  it("only ever uses active routes on active providers, sorted by priority then id, models sorted by slug", () => {
    fc.assert(
      fc.property(accessInputArb, (input) => {
        const access = effectiveModelAccess(input);
        const active = new Set(input.providers.filter((p) => p.active).map((p) => p.id));
        const sortedSlugs = [...slugs(access)].sort();
        expect(slugs(access)).toEqual(sortedSlugs);
        for (const a of access) {
          for (const r of a.routes) expect(r.active && active.has(r.providerId)).toBe(true);
          const sorted = [...a.routes].sort((x, y) => x.priority - y.priority || (x.id < y.id ? -1 : 1));
          expect(a.routes).toEqual(sorted);
        }
      }),
    );
  });

  it("does not depend on the order of grant and provider-access rows", () => {
    fc.assert(
      fc.property(accessInputArb, fc.infiniteStream(fc.nat()), (input, randoms) => {
        const shuffle = <T>(xs: T[]) =>
          xs.map((x) => ({ x, k: randoms.next().value as number })).sort((a, b) => a.k - b.k).map((p) => p.x);
        const shuffled = { ...input, grants: shuffle(input.grants), providerAccess: shuffle(input.providerAccess) };
        expect(effectiveModelAccess(shuffled)).toEqual(effectiveModelAccess(input));
      }),
    );
  });
});
