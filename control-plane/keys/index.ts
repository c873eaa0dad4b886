// The keys domain: registers the ApiKey type, its queries (and the apiKeys fields on owners) and its mutations.
import "./api-key-type.ts";
import "./api-key-inputs.ts";
import "./api-key-queries.ts";
import "./api-key-mutations.ts";
import "./api-key-lifecycle-mutations.ts";
