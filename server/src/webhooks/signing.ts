import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signature headers of a delivery (see the HTTP contract):
 * v1 signs the raw body; v2 signs `timestamp + "." + body`, so a receiver that checks the
 * timestamp's age also refuses a replayed delivery.
 */
export function signatureHeaders(secret: string, body: string, timestampSeconds: number): Record<string, string> {
  const hmac = (text: string) => createHmac('sha256', secret).update(text).digest('hex');
  return {
    'x-agentgate-signature': `sha256=${hmac(body)}`,
    'x-agentgate-timestamp': String(timestampSeconds),
    'x-agentgate-signature-v2': `sha256=${hmac(`${timestampSeconds}.${body}`)}`,
  };
}

/** What a receiver does: recompute and compare in constant time. Used by tests and the docs' example. */
export function verifySignature(secret: string, body: string, header: string | undefined, timestamp?: string): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const signed = timestamp === undefined ? body : `${timestamp}.${body}`;
  const expected = Buffer.from(createHmac('sha256', secret).update(signed).digest('hex'));
  const given = Buffer.from(header.slice('sha256='.length));
  return given.length === expected.length && timingSafeEqual(given, expected);
}
