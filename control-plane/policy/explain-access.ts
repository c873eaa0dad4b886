// Answers "why can (or can't) this principal use model X?" in one sentence, from an effective policy.
import type { EffectivePolicy, Subject } from "../../shared/policy/index.ts";
import { describeReason } from "./effective-policy-types.ts";

export interface AccessExplanation {
  slug: string;
  allowed: boolean;
  explanation: string;
}

export function explainAccess(
  policy: EffectivePolicy,
  groups: Subject[],
  active: boolean,
  slug: string,
  modelExists: boolean,
): AccessExplanation {
  const who = policy.principal.name;
  if (!modelExists) return { slug, allowed: false, explanation: `there is no model with slug "${slug}"` };
  if (!active) return { slug, allowed: false, explanation: `${who} is disabled, so no model is usable` };
  const access = policy.models.find((m) => m.model.slug === slug);
  if (!access) {
    const groupText = groups.length === 0 ? "no groups" : `groups ${groups.map((g) => `"${g.name}"`).join(", ")}`;
    return {
      slug,
      allowed: false,
      explanation: `${slug} is not granted to ${who} or to their ${groupText}, and none of them has access to a provider that routes ${slug}`,
    };
  }
  if (access.routes.length === 0) {
    return {
      slug,
      allowed: false,
      explanation: `${who} may use ${slug} (${access.reasons.map(describeReason).join("; ")}) but it has no active route on an active provider they can use`,
    };
  }
  return { slug, allowed: true, explanation: `${who} may use ${slug}: ${access.reasons.map(describeReason).join("; ")}` };
}
