/** The CORS origin to echo for a request, from CORS_ORIGINS; null = not allowed cross-origin. One rule for REST and GraphQL. */
export function corsOriginFor(allowed: readonly string[], origin: string | null): string | null {
  if (!origin) return null;
  if (allowed.includes('*')) return origin;
  return allowed.includes(origin) ? origin : null;
}

/**
 * Whether a browser page at `origin` may open a WebSocket here, or send a request that changes state. Browsers send
 * no CORS preflight for WebSockets and "simple" requests (forms, multipart), so without this check any web page could
 * drive the API from a visitor's browser. Same-origin pages (GraphiQL) and clients that send no Origin (servers, CLIs,
 * curl) are allowed; other origins must be in CORS_ORIGINS.
 */
export function browserOriginAllowed(
  allowed: readonly string[],
  origin: string | undefined,
  host: string | undefined,
): boolean {
  if (!origin) return true;
  try {
    if (host && new URL(origin).host === host) return true;
  } catch {
    return false; // not an origin at all
  }
  return corsOriginFor(allowed, origin) !== null;
}
