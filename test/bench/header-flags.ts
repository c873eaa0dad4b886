// The load generators' repeatable `--header "name: value"` flags, added to a request's headers (exits 2 on a bad one).
export function addHeaderFlags(headers: Record<string, string>, lines: readonly string[]): Record<string, string> {
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon < 1) {
      console.error(`--header must be "name: value", got "${line}"`);
      process.exit(2);
    }
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}
