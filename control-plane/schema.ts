// Builds the GraphQL schema: importing a domain's index registers its types on the shared builder.
import { builder } from "./builder.ts";
import "./scalars.ts";
import "./error-types.ts";
import "./changes/change-subscription.ts";
import "./users/index.ts";
import "./groups/index.ts";
import "./virtual-accounts/index.ts";
import "./providers/index.ts";
import "./models/index.ts";
import "./grants/index.ts";
import "./provider-access/index.ts";
import "./limits/index.ts";
import "./budgets/index.ts";
import "./policy/index.ts";
import "./audit/index.ts";
import "./invites/index.ts";
import "./users/table.ts";
import "./keys/index.ts";
import "./usage/index.ts";

export const schema = builder.toSchema({ sortSchema: true });
