/** The CORS origin to echo for a request, from CORS_ORIGINS; null = not allowed cross-origin. One rule for REST and GraphQL. */
export function corsOriginFor(allowed: readonly string[], origin: string | null): string | null {
  if (!origin) return null;
  if (allowed.includes('*')) return origin;
  return allowed.includes(origin) ? origin : null;
}
