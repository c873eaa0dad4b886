// The effective-policy domain: "what may this principal use, and why".
import "./effective-policy-types.ts";
import "./effective-policy-query.ts";
