// Raised when a route's provider needs an API key and has none: the route is unusable, so the gateway tries the next.

export class MissingCredentialsError extends Error {
  override readonly name = "MissingCredentialsError";
  constructor(readonly providerName: string) {
    super(`provider ${providerName} has no credentials`);
  }
}
