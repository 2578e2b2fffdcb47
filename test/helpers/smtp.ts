/**
 * A real SMTP server in the test process (smtp-server), every message parsed with
 * mailparser, for the email channel's end-to-end tests.
 */
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { Test } from 'tap';

export interface Mailbox {
  url: string;
  port: number;
  mails: ParsedMail[];
  /** The mails sent to one address. */
  to(address: string): ParsedMail[];
  /** SMTP connections opened to this server so far. */
  connections(): number;
}

export async function smtpServer(t: Test): Promise<Mailbox> {
  const mails: ParsedMail[] = [];
  let connections = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(_session, callback) {
      connections++;
      callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream).then((mail) => { mails.push(mail); callback(); }, callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.server.address() as AddressInfo).port;
  const addressesOf = (m: ParsedMail) => [m.to].flat().flatMap((a) => a?.value.map((v) => v.address?.toLowerCase()) ?? []);
  return {
    url: `smtp://127.0.0.1:${port}`, port, mails, connections: () => connections,
    to: (address) => mails.filter((m) => addressesOf(m).includes(address.toLowerCase())),
  };
}
