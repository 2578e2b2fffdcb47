/**
 * GET /api/channels: every channel, on or off as configured, with its last notification
 * and last test. POST /api/channels/:type/test queues a test message: the worker sends it
 * (the API never waits on a channel's API) and GET …/tests/:id tells how it went.
 *
 * Guarded by reviewer:manage: the people who decide who is notified where are the ones
 * who check that the notifications get through. (admin holds it too.)
 */
import type { FastifyInstance } from 'fastify';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { eventMetadata } from '../http/context.ts';
import { errorResponses } from '../http/schemas.ts';
import { isId } from '../ids.ts';
import type { ChannelSetting } from './registry.ts';
import { ChannelList, ChannelParams, ChannelTest } from './schemas.ts';
import { channelStatus, findChannelTest } from './status.ts';
import { requestChannelTest } from './tests.ts';
import { CHANNEL_TYPES, type ChannelType } from './types.ts';

const tags = ['channels'];

function channelType(params: unknown): ChannelType {
  const type = (params as { type: string }).type;
  if (!(CHANNEL_TYPES as readonly string[]).includes(type)) {
    throw new AppError('NOT_FOUND', `No channel "${type}": the channels are ${CHANNEL_TYPES.join(', ')}`, { field: 'params.type' });
  }
  return type as ChannelType;
}

export async function channelRoutes(app: FastifyInstance, opts: { sql: Sql; settings: readonly ChannelSetting[] }) {
  const { sql, settings } = opts;
  const settingOf = (type: ChannelType): ChannelSetting =>
    settings.find((s) => s.type === type) ?? { type, enabled: false, reason: 'not configured', defaultTarget: null };

  app.get('/api/channels', {
    config: { scope: 'reviewer:manage' },
    schema: {
      tags, summary: 'The notification channels, on or off, with their last delivery and last test',
      response: { 200: ChannelList, ...errorResponses(401, 403) },
    },
  }, async () => ({ channels: await channelStatus(sql, CHANNEL_TYPES.map(settingOf)) }));

  app.post('/api/channels/:type/test', {
    config: { scope: 'reviewer:manage' },
    schema: {
      tags, summary: 'Send a test message to the channel\'s default destination (through the worker)',
      description: 'Answers at once with the queued test; poll GET /api/channels/{type}/tests/{id} (or GET /api/channels) for its outcome.',
      params: ChannelParams, response: { 202: ChannelTest, ...errorResponses(401, 403, 404, 409) },
    },
  }, async (request, reply) => {
    const setting = settingOf(channelType(request.params));
    if (!setting.enabled) throw new AppError('CHANNEL_NOT_CONFIGURED', `${setting.type} is off: ${setting.reason}`, { channel: setting.type });
    if (!setting.defaultTarget) {
      const variable = { slack: 'SLACK_DEFAULT_CHANNEL', discord: 'DISCORD_DEFAULT_CHANNEL', email: 'EMAIL_DEFAULT_TO' }[setting.type];
      throw new AppError('CHANNEL_NOT_CONFIGURED', `${variable} is not set: nowhere to send a test message`, { channel: setting.type });
    }
    const id = await requestChannelTest(sql, setting.type, setting.defaultTarget, eventMetadata(request));
    return reply.code(202).send(await findChannelTest(sql, id));
  });

  app.get('/api/channels/:type/tests/:id', {
    config: { scope: 'reviewer:manage' },
    schema: {
      tags, summary: 'One test message and how it went',
      params: { type: 'object', properties: { type: { type: 'string', maxLength: 32 }, id: { type: 'string', maxLength: 64 } }, required: ['type', 'id'] },
      response: { 200: ChannelTest, ...errorResponses(401, 403, 404) },
    },
  }, async (request) => {
    const type = channelType(request.params);
    const { id } = request.params as { id: string };
    if (!isId('channelTest', id)) throw new AppError('INVALID_ID', `"${id}" is not a test id (tst_…)`, { field: 'params.id' });
    const test = await findChannelTest(sql, id);
    if (!test || test.channel !== type) throw new AppError('NOT_FOUND', `test ${id} not found`);
    return test;
  });
}
