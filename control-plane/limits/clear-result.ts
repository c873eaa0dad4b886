// The answer of the clear* mutations (rate limits, budgets): whether there was something to clear.
import { builder } from "../builder.ts";

export interface ClearResult {
  cleared: boolean;
}

export const ClearResultRef = builder.objectRef<ClearResult>("ClearResult").implement({
  description: "`cleared` is false when the subject had nothing set there; the subject is unchanged then.",
  fields: (t) => ({ cleared: t.exposeBoolean("cleared") }),
});
