// The usage domain: usage reports, spend against budgets, and live spend.
import "./usage-query.ts";
import "./spend-query.ts";
import "./spend-subscription.ts";
