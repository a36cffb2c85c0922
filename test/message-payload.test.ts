// docs/message-payload.md: the protected-headers payload inside every message.
import { describe, expect, it } from 'vitest';
import { bareAddress, formatPayload, parsePayload } from '../src/core/message-payload.js';

const payload = {
  from: 'Alice Martin <alice@caliop.example>',
  to: ['bob@caliop.example', 'carol@caliop.example'],
  subject: 'Rendez-vous à 10 h',
  date: '2026-11-26T09:30:00.000Z',
  messageId: '0a1b2c@caliop.example',
  body: 'Ligne 1\nLigne 2\n',
};

describe('message payload', () => {
  it('formats a known answer: protected-headers v1, CRLF line ends', () => {
    expect(formatPayload(payload)).toBe(
      'Content-Type: text/plain; charset=utf-8; protected-headers="v1"\r\nContent-Transfer-Encoding: 8bit\r\n' +
        'From: Alice Martin <alice@caliop.example>\r\nTo: bob@caliop.example, carol@caliop.example\r\n' +
        'Subject: Rendez-vous à 10 h\r\nDate: Thu, 26 Nov 2026 09:30:00 +0000\r\nMessage-ID: <0a1b2c@caliop.example>\r\n\r\nLigne 1\r\nLigne 2\r\n',
    );
  });

  it('round-trips through parsePayload', () => {
    const parsed = parsePayload(formatPayload(payload));
    expect(parsed).toMatchObject({ from: payload.from, to: payload.to, subject: payload.subject, date: payload.date, messageId: payload.messageId, body: payload.body, protectedHeaders: true });
  });

  it('a subject cannot inject a header (header_injection)', () => {
    const parsed = parsePayload(formatPayload({ ...payload, subject: 'hello\r\nBcc: eve@evil.example' }));
    expect(parsed.headers.has('bcc')).toBe(false);
    expect(parsed.subject).toBe('hello Bcc: eve@evil.example');
  });

  it('reads a plain RFC 5322 message (folded headers, no protected-headers marker)', () => {
    const parsed = parsePayload('From: Gina <gina@elsewhere.example>\r\nSubject: a long\r\n subject\r\n\r\nbody');
    expect(parsed).toMatchObject({ from: 'Gina <gina@elsewhere.example>', subject: 'a long subject', body: 'body', protectedHeaders: false });
  });

  it('decodes RFC 2047 encoded-words in headers and a quoted-printable or base64 body (RFC 2045)', () => {
    const qp = parsePayload('Subject: =?UTF-8?Q?Photos_de_la_f=C3=AAte?=\r\nFrom: =?ISO-8859-1?B?R+lyYXJk?= <g@x.example>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nC=27est la f=C3=AAte, une tr=\r\ns longue ligne');
    expect(qp.subject).toBe('Photos de la fête');
    expect(qp.from).toBe('Gérard <g@x.example>');
    expect(qp.body).toBe("C'est la fête, une trs longue ligne");
    const b64 = parsePayload(`Subject: =?utf-8?b?${Buffer.from('Déjà').toString('base64')}?= =?utf-8?q?_vu?=\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from('Corps en base64 é').toString('base64')}`);
    expect(b64.subject).toBe('Déjà vu');
    expect(b64.body).toBe('Corps en base64 é');
  });

  it('text without headers is all body', () => {
    expect(parsePayload('just text\n\nmore')).toMatchObject({ body: 'just text\n\nmore', subject: undefined });
  });

  it('bareAddress takes the address out of a mailbox', () => {
    expect(bareAddress('Alice <Alice@Caliop.Example>')).toBe('alice@caliop.example');
    expect(bareAddress(' bob@x.example ')).toBe('bob@x.example');
  });
});
