/**
 * `npm run demo`: a pretend agent that asks before it acts.
 *
 * It makes sure two policies exist (file reads are approved at once, dropping a database
 * is refused at once), then asks for three actions: one approved by policy, one denied
 * by policy, and one that no policy covers, so a person decides; it waits for that one.
 *
 * Needs a running server: AGENTGATE_URL (default http://localhost:3000) and
 * AGENTGATE_API_KEY (a key with request:create, request:read and policy:write, or admin).
 */
import pc from 'picocolors';
import { AgentGateClient, AgentGateError, TimeoutError, type ApprovalRequest, type PolicyInput } from '@agentgate/sdk';

const baseUrl = process.env.AGENTGATE_URL || 'http://localhost:3000';
const apiKey = process.env.AGENTGATE_API_KEY;
const waitSeconds = Number(process.env.DEMO_WAIT_SECONDS || 600);

const POLICIES: PolicyInput[] = [
  {
    name: 'demo: never drop databases',
    description: 'Created by npm run demo',
    priority: 5,
    enabled: true,
    rules: [{ match: { action: 'delete_database' }, decision: 'auto_deny' }],
  },
  {
    name: 'demo: file reads are fine',
    description: 'Created by npm run demo',
    priority: 10,
    enabled: true,
    rules: [{ match: { action: 'read_file' }, decision: 'auto_approve' }],
  },
];

const say = (line = '') => console.log(line);
const step = (n: number, text: string) => say(`\n${pc.bold(pc.cyan(`${n}.`))} ${pc.bold(text)}`);

function verdict(r: ApprovalRequest): string {
  const byPolicy = r.policyDecision && r.policyDecision.decision !== 'route_to_human' ? r.policyDecision.policyName : null;
  const by = byPolicy ? ` by policy "${byPolicy}"` : r.decidedBy ? ` by ${r.decidedBy}${r.decisionReason ? `: "${r.decisionReason}"` : ''}` : '';
  switch (r.status) {
    case 'approved': return pc.green(`approved${by}`);
    case 'denied': return pc.red(`denied${by}`);
    case 'pending': return pc.yellow('pending: a person must decide');
    default: return pc.gray(r.status);
  }
}

async function ensurePolicies(gate: AgentGateClient): Promise<void> {
  const existing = new Set((await gate.listPolicies()).map((p) => p.name));
  for (const policy of POLICIES) {
    if (existing.has(policy.name)) {
      say(`   policy "${policy.name}" ${pc.dim('already there')}`);
    } else {
      const created = await gate.createPolicy(policy);
      say(`   policy "${policy.name}" ${pc.green('created')} ${pc.dim(created.id)}`);
    }
  }
}

async function main(): Promise<number> {
  if (!apiKey) {
    say(pc.red('AGENTGATE_API_KEY is not set.'));
    say('Start the server (npm start), copy the admin key it prints on first start, then:');
    say(pc.bold('  AGENTGATE_API_KEY=agk_… npm run demo'));
    return 1;
  }
  const gate = new AgentGateClient({ baseUrl, apiKey, headers: { 'user-agent': 'agentgate-demo' } });
  say(`${pc.bold('AgentGate demo')} against ${baseUrl}`);

  step(1, 'Making sure the demo policies exist');
  await ensurePolicies(gate);

  step(2, 'Asking to read a file (a policy approves this at once)');
  const read = await gate.request({ action: 'read_file', params: { path: '/etc/hostname' }, context: { agent: 'demo' } });
  say(`   ${read.id}: ${verdict(read)}`);
  say(read.status === 'approved' ? '   → reading /etc/hostname' : '   → not reading it');

  step(3, 'Asking to drop the production database (a policy refuses this at once)');
  const drop = await gate.request({ action: 'delete_database', params: { database: 'production' }, context: { agent: 'demo' }, urgency: 'critical' });
  say(`   ${drop.id}: ${verdict(drop)}`);
  say(drop.status === 'approved' ? '   → dropping it (!)' : '   → leaving the database alone');

  step(4, 'Asking to send an email (no policy covers it: a person decides)');
  const email = await gate.request({
    action: 'send_email',
    params: { to: 'customer@example.com', subject: 'Your refund', amount: 120 },
    context: { agent: 'demo', why: 'the customer asked for a refund in ticket #4711' },
    urgency: 'high',
  });
  say(`   ${email.id}: ${verdict(email)}`);
  if (email.status !== 'pending') {
    say(`   → ${email.status === 'approved' ? 'sending the email' : 'not sending it'}`);
    return 0;
  }
  say(`   Decide it from another terminal (or the dashboard):`);
  say(pc.bold(`     npm run -s cli -- approve ${email.id} --reason "refund is fine"`));
  say(pc.dim(`     (or: … deny ${email.id} --reason "not now")`));
  say(pc.dim(`   waiting up to ${waitSeconds} s for the decision…`));

  const interrupt = new AbortController();
  process.once('SIGINT', () => interrupt.abort());
  try {
    const decided = await gate.waitForDecision(email.id, { timeout: waitSeconds * 1000, signal: interrupt.signal });
    say(`   ${decided.id}: ${verdict(decided)}`);
    say(decided.status === 'approved' ? pc.green('   → sending the email. Done.') : '   → not sending it. Done.');
    const trail = await gate.getAuditTrail(decided.id);
    say(pc.dim(`   audit trail: ${trail.map((e) => e.eventType).join(' → ')}`));
    return 0;
  } catch (err) {
    if (err instanceof TimeoutError) {
      say(pc.yellow(`   no decision within ${waitSeconds} s; the request stays pending (agentgate status ${email.id}).`));
      return 1;
    }
    if (interrupt.signal.aborted) {
      say(pc.yellow(`\n   stopped waiting; ${email.id} stays pending.`));
      return 130;
    }
    throw err;
  }
}

main().then((code) => process.exit(code), (err) => {
  if (err instanceof AgentGateError) {
    console.error(pc.red(`AgentGate said ${err.code}${err.status ? ` (HTTP ${err.status})` : ''}: ${err.message}`));
    if (err.code === 'NETWORK_ERROR') console.error(`Is the server running at ${baseUrl}? Start it with: npm start`);
  } else {
    console.error(err);
  }
  process.exit(1);
});
