// The budgets domain: registers its GraphQL types and mutations, and the budgets field on subjects.
import "./budget-type.ts";
import "./budget-fields.ts";
import "./budget-mutations.ts";
