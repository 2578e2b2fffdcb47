import type { AddressInfo } from 'node:net';

/**
 * The base URL of links the server hands out (decision links) when PUBLIC_URL is unset:
 * the address it listens on, never the Host header of the request that asked — a
 * caller choosing the host would choose where a reviewer's click (and token) goes.
 * A wildcard listen address is shown as localhost.
 */
export function listenBaseUrl(address: AddressInfo | string | null): string {
  if (!address || typeof address === 'string') return 'http://localhost';
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const host = wildcard ? 'localhost' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
