/**
 * `agentgate channels` and `agentgate channels test <type>` against a real server port, a
 * worker and the local Slack stand-in; the SDK's listChannels/testChannel/getChannelTest.
 */
import { spawn } from 'node:child_process';
import t from 'tap';
import { channelSettings, type Channels } from '../../server/src/channels/registry.ts';
import { slackChannel } from '../../server/src/channels/slack.ts';
import { fakeSlack } from '../helpers/fake-slack.ts';
import { clientSourceArgs } from '../helpers/process.ts';
import { inProcessWorker } from '../helpers/worker.ts';
import { liveServer, until } from './_helpers.ts';

function cli(baseUrl: string, apiKey: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...clientSourceArgs('cli'), ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', NO_COLOR: '1', AGENTGATE_URL: baseUrl, AGENTGATE_API_KEY: apiKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += String(d)));
  child.stderr!.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

t.test('list, test (sent), test of a channel that is off; the SDK', async (t) => {
  const slack = await fakeSlack(t);
  const channels: Channels = {
    adapters: { slack: slackChannel({ botToken: 'xoxb-test', apiUrl: slack.apiUrl, defaultChannel: '#approvals', timeoutMs: 5000 }) },
    defaults: { slack: '#approvals', email: [] }, baseUrl: 'https://gate.example.com',
  };
  const s = await liveServer(t, { channels: channelSettings(channels) });
  await inProcessWorker(t, s.sql, s.dbUrl, { channels });
  const manager = await s.key(['reviewer:manage']);

  const listed = await cli(s.baseUrl, manager.key, ['channels']);
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.stdout, /slack\s+on\s+#approvals\s+none\s+none/);
  t.match(listed.stdout, /discord\s+off \(not configured\)/);

  const tested = await cli(s.baseUrl, manager.key, ['channels', 'test', 'slack']);
  t.equal(tested.code, 0, tested.stderr);
  t.match(tested.stdout, /sent to #approvals \(message \d+\.\d+\)/);
  t.equal(slack.posted().length, 1, 'one test message reached Slack');

  const json = JSON.parse((await cli(s.baseUrl, manager.key, ['--json', 'channels', 'list'])).stdout);
  t.match(json.find((c: { type: string }) => c.type === 'slack'), { enabled: true, lastTest: { status: 'sent', target: '#approvals' } });

  const off = await cli(s.baseUrl, manager.key, ['channels', 'test', 'discord']);
  t.equal(off.code, 1);
  t.match(off.stderr, /discord is off/);
  const usage = await cli(s.baseUrl, manager.key, ['channels', 'test', 'pigeon']);
  t.equal(usage.code, 2, 'an unknown channel is a usage error');

  const client = s.client(manager.key);
  const queued = await client.testChannel('slack');
  t.equal(queued.status, 'queued');
  const done = await until(async () => {
    const r = await client.getChannelTest('slack', queued.id);
    return r.status === 'sent' ? r : null;
  }, 'the SDK test sent');
  t.equal(done.target, '#approvals');
  t.same((await client.listChannels()).map((c) => c.type), ['slack', 'discord', 'email']);
});
