// Joins a provider's configured base URL with an endpoint path; the per-format conventions are described in registry.ts.

/** The base without trailing slashes, so that joining never doubles them. */
export function trimBase(base: string): string {
  let end = base.length;
  while (end > 0 && base.charCodeAt(end - 1) === 47 /* / */) end--;
  return end === base.length ? base : base.slice(0, end);
}

/** True when the base is a bare origin ("http://host:port" or "http://host/"), i.e. it names no path of its own. */
export function isBareOrigin(base: string): boolean {
  const trimmed = trimBase(base);
  const afterScheme = trimmed.indexOf("//");
  return trimmed.indexOf("/", afterScheme === -1 ? 0 : afterScheme + 2) === -1;
}

/** True when the base's last path segment is `segment` (e.g. a base already ending in /v1). */
export function endsWithSegment(base: string, segment: string): boolean {
  return trimBase(base).endsWith(`/${segment}`);
}

/** Base + path, where path starts with "/". */
export function joinUrl(base: string, path: string): string {
  return trimBase(base) + path;
}
