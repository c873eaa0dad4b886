// The GraphQL shapes of usage reports: the filter, the dimensions to group by, and one aggregated row.
import { builder } from "../builder.ts";

export const usageDimensions = ["DAY", "USER", "VIRTUAL_ACCOUNT", "MODEL", "API_KEY"] as const;
export type UsageDimension = (typeof usageDimensions)[number];

export const UsageDimensionEnum = builder.enumType("UsageDimension", {
  description: "What usage rows are grouped by. DAY is the UTC calendar day.",
  values: usageDimensions,
});

export const UsageFilterInput = builder.inputType("UsageFilter", {
  description:
    "Every given field must match (all of). The range is [from, to): from defaults to 30 days before `to`, to defaults to now, " +
    "and it spans at most 366 days.",
  fields: (t) => ({
    userId: t.id({ required: false }),
    groupId: t.id({ required: false, description: "Usage of the users who are members of this group now." }),
    virtualAccountId: t.id({ required: false }),
    apiKeyId: t.id({ required: false }),
    modelSlug: t.string({ required: false }),
    from: t.field({ type: "DateTime", required: false, description: "At or after this time." }),
    to: t.field({ type: "DateTime", required: false, description: "Before this time." }),
  }),
});

/** One aggregated row; a dimension's columns are null unless the rows are grouped by it. */
export interface UsageRowShape {
  day: string | null;
  userId: string | null;
  userEmail: string | null;
  virtualAccountId: string | null;
  virtualAccountName: string | null;
  modelSlug: string | null;
  apiKeyId: string | null;
  apiKeyPrefix: string | null;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costMicros: bigint;
  errors: number;
}

export const UsageRowRef = builder.objectRef<UsageRowShape>("UsageRow").implement({
  description: "Usage summed over one combination of the grouped dimensions; the other dimension fields are null.",
  fields: (t) => ({
    day: t.exposeString("day", { nullable: true, description: "YYYY-MM-DD (UTC), when grouped by DAY." }),
    userId: t.exposeID("userId", { nullable: true }),
    userEmail: t.exposeString("userEmail", { nullable: true }),
    virtualAccountId: t.exposeID("virtualAccountId", { nullable: true }),
    virtualAccountName: t.exposeString("virtualAccountName", { nullable: true }),
    modelSlug: t.exposeString("modelSlug", { nullable: true }),
    apiKeyId: t.exposeID("apiKeyId", { nullable: true }),
    apiKeyPrefix: t.exposeString("apiKeyPrefix", { nullable: true }),
    requests: t.exposeInt("requests"),
    inputTokens: t.exposeFloat("inputTokens", { description: "Float, not Int: org-wide totals pass 2^31; exact up to 2^53." }),
    outputTokens: t.exposeFloat("outputTokens"),
    cachedTokens: t.exposeFloat("cachedTokens"),
    cost: t.expose("costMicros", { type: "Usd" }),
    errors: t.exposeInt("errors", { description: "Requests that ended with an HTTP status of 400 or more." }),
  }),
});
