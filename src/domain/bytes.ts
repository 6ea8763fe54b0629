/**
 * The parts' bytes in order, copied once into a buffer of their own (Buffer.concat may answer a view of its shared
 * pool for small results, and callers hand `.buffer` on).
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const whole = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    whole.set(part, at);
    at += part.byteLength;
  }
  return whole;
}
