// The provider kinds Tollgate can talk to: the one list the API validates against and offers to clients.
import { z } from "zod";

export const providerKinds = ["openai", "anthropic", "azure-openai", "openai-compatible"] as const;
export type ProviderKind = (typeof providerKinds)[number];

export const providerKind = z.enum(providerKinds, { error: `kind must be one of: ${providerKinds.join(", ")}` });
