// Imported first by control-plane/main.ts, before graphql loads: graphql-js picks its instanceof check from NODE_ENV
// when its module is evaluated, and outside production that check walks constructor names on every miss (about a
// tenth of the control plane's CPU on a 50-user page). A NODE_ENV the operator set is kept.
process.env.NODE_ENV ??= "production";
