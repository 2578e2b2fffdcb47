/**
 * `agentgate-mcp`: the AgentGate MCP server over stdio. stdout carries the protocol,
 * so everything human-readable goes to stderr.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { AgentGateClient } from '@agentgate/sdk';
import { createServer, VERSION } from './server.ts';

const baseUrl = process.env.AGENTGATE_URL || 'http://localhost:3000';
const apiKey = process.env.AGENTGATE_API_KEY || undefined;
if (!apiKey) process.stderr.write('agentgate-mcp: AGENTGATE_API_KEY is not set; every call will be refused with UNAUTHORIZED\n');

const client = new AgentGateClient({
  baseUrl,
  apiKey,
  headers: { 'x-agentgate-channel': 'mcp', 'user-agent': `agentgate-mcp/${VERSION}` },
});
const server = createServer(client);
await server.connect(new StdioServerTransport());
process.stderr.write(`agentgate-mcp ${VERSION}: serving ${baseUrl} over stdio\n`);

// The host ends us by closing stdin; leave without waiting for idle sockets.
process.stdin.on('close', () => process.exit(0));
