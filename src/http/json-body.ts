/**
 * Small JSON request bodies parsed before yoga sees them (a fast path of src/http/server.ts).
 */

/*
 * JSON bodies (within MAX_JSON_BODY_MB, declared or chunked) are read whole and parsed by src/http/server.ts, and
 * reach yoga already parsed (@whatwg-node/server takes a parsed `req.body`, as behind Express): yoga otherwise wraps
 * every body in web streams (its body-size limiter pipes it through a TransformStream), a third of the server CPU of a
 * single-row `predict` (bench:predict: ~930 → ~630 µs per request). 1000 full Kepler rows (MAX_PREDICT_ROWS) are
 * ~1.2 MB. Other content types (multipart uploads) take yoga's own path and limits.
 */

/** The content types yoga parses as JSON, matched as yoga matches them (first of a list, parameters allowed). */
export function isJsonContentType(header: string | undefined): boolean {
  const type = header?.split(',')[0];
  return (
    type !== undefined &&
    ['application/json', 'application/graphql+json'].some((json) => type === json || type.startsWith(`${json};`))
  );
}

/** The body yoga will read instead of the stream: the parsed object, or the text when yoga must report it as bad. */
export function preparsedBody(text: string): unknown {
  try {
    const parsed: unknown = JSON.parse(text);
    // yoga takes a pre-parsed body only if it is a non-empty object; anything else it re-reads and refuses itself.
    if (typeof parsed === 'object' && parsed !== null && Object.keys(parsed).length > 0) return parsed;
  } catch {
    // Invalid JSON: yoga answers 400 "POST body sent invalid JSON." from the text.
  }
  return text;
}
