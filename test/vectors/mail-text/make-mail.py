#!/usr/bin/env python3
# The mail of test/mail-text-charset.test.ts as Python's email package writes it (a real
# MUA library). Kept for the record; the tests read the files.
#   python3 test/vectors/mail-text/make-mail.py
import os
from email import policy
from email.message import EmailMessage, Message
from email.mime.text import MIMEText

HERE = os.path.dirname(os.path.abspath(__file__))
CHARSET = os.path.join(HERE, '..', 'charset')


def read(folder, name):
    return open(os.path.join(folder, name), 'rb').read()


def heads(message, subject):
    message['From'] = 'Text Peer <text@example.org>'
    message['To'] = 'bob@caliop.test'
    message['Subject'] = subject
    message['Date'] = 'Tue, 01 Dec 2026 10:00:00 +0000'


def write(name, message, smtp=True):
    with open(os.path.join(HERE, name), 'wb') as out:
        out.write(message.as_bytes(policy=policy.SMTP) if smtp else message.as_bytes())


def undeclared(name, data, cte):
    """text/plain without a charset: set_content of bytes (Python writes no charset for them)."""
    message = EmailMessage()
    heads(message, name)
    message.set_content(data, 'text', 'plain', cte=cte)
    assert message.get_content_charset() is None and message.get_payload(decode=True) == data, name
    write(f'{name}.eml', message)


def declared_ascii(name, data):
    """charset=us-ascii over 8-bit bytes, as a script writes it (compat32 Message, bytes as they are)."""
    message = Message()
    heads(message, name)
    message['MIME-Version'] = '1.0'
    message['Content-Type'] = 'text/plain; charset="us-ascii"'
    message['Content-Transfer-Encoding'] = '8bit'
    message.set_payload(data)
    write(f'{name}.eml', message, smtp=False)


# docs/message-payload.md §4.5: no charset, or us-ascii, over 8-bit bytes.
undeclared('nocharset-latin1.8bit', read(CHARSET, 'latin1.txt'), '8bit')
undeclared('nocharset-cp1252.base64', read(CHARSET, 'cp1252.txt'), 'base64')
undeclared('nocharset-utf8.8bit', 'Grüße aus Köln: café, Straße, naïve.\nZweite Zeile é ß\n'.encode(), '8bit')
declared_ascii('usascii-cp1252.8bit', read(CHARSET, 'cp1252.txt'))
# No MIME at all (what mail(1) or a cron job sends): headers, then Latin-1 bytes.
bare = Message()
heads(bare, 'nomime-latin1')
bare.set_payload(read(CHARSET, 'latin1.txt'))
write('nomime-latin1.eml', bare, smtp=False)
# The same with its From name and Subject in Latin-1 bytes (RFC 6532 allows UTF-8 only there),
# as Python writes back headers it read as bytes (surrogateescape), an encoded-word beside.
raw = Message()
raw['From'] = b'Ren\xe9e Dupr\xe9 <text@example.org>'.decode('ascii', 'surrogateescape')
raw['To'] = 'bob@caliop.test'
raw['Subject'] = b"Rapport d'activit\xe9 =?utf-8?B?w58=?=".decode('ascii', 'surrogateescape')
raw['Date'] = 'Tue, 01 Dec 2026 10:00:00 +0000'
raw.set_payload(read(CHARSET, 'latin1.txt'))
write('nomime-latin1-headers.eml', raw, smtp=False)

# docs/message-payload.md §6.6: signed Latin-1 and windows-1252 text in such parts.
undeclared('nocharset-latin1.gpg-clear.8bit', read(CHARSET, 'latin1.gpg-clear.asc'), '8bit')
undeclared('nocharset-latin1.gpg-clear.base64', read(CHARSET, 'latin1.gpg-clear.asc'), 'base64')
declared_ascii('usascii-cp1252.gpg-clear.8bit', read(CHARSET, 'cp1252.gpg-clear.asc'))
undeclared('nocharset-latin1.gpg-inline.7bit', read(CHARSET, 'latin1.gpg-inline.asc'), '7bit')
undeclared('nocharset-cp1252.gpg-inline-text.7bit', read(CHARSET, 'cp1252.gpg-inline-text.asc'), '7bit')

# docs/message-payload.md §6.7: RFC 3676 text, signed as it is sent, in a format=flowed part.
for name, params in (('flowed', {'format': 'flowed'}), ('flowed-delsp', {'format': 'flowed', 'delsp': 'yes'})):
    for kind in ('gpg-clear', 'gpg-inline-text'):
        message = EmailMessage()
        heads(message, f'{name} {kind}')
        block = read(HERE, f'{name}.{kind}.asc')
        message.set_content(block.decode(), subtype='plain', charset='utf-8', cte='quoted-printable', params=params)
        assert message.get_payload(decode=True) == block.replace(b'\n', b'\r\n') or message.get_payload(decode=True) == block, name
        write(f'{name}.{kind}.eml', message)

# docs/message-payload.md §4.6: UTF-7 (RFC 2152), as Python writes it (base64) and 7bit.
TEXT7 = 'Hi Mom -\u263a-! caf\xe9 \u20ac \u65e5\u672c\u8a9e, A\u2262\u0391. 1 + 1 = 2 \U0001F600\n'
utf7 = MIMEText(TEXT7, 'plain', 'utf-7')
heads(utf7, 'utf-7 base64')
write('utf7.base64.eml', utf7)
seven = Message()
heads(seven, 'utf-7 7bit')
seven['MIME-Version'] = '1.0'
seven['Content-Type'] = 'text/plain; charset=UTF-7'
seven['Content-Transfer-Encoding'] = '7bit'
seven.set_payload(TEXT7.encode('utf-7'))
write('utf7.7bit.eml', seven, smtp=False)
with open(os.path.join(HERE, 'utf7.txt'), 'wb') as out:
    out.write(TEXT7.encode())

# docs/gateway.md §3.8: PGP/MIME (RFC 3156 §4) from gpg without protected headers, its outer
# Subject in raw windows-1252 bytes (– € ’: 0x96 0x80 0x92, which Latin-1 reads as C1 controls)
# beside an encoded-word, its From name in raw Latin-1 bytes, as Python writes back headers it
# read as bytes (surrogateescape, compat32); To, Date and Message-ID in ASCII.
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.base import MIMEBase
from email import encoders
outer = MIMEMultipart('encrypted', protocol='application/pgp-encrypted', boundary='outer-8bit')
outer['From'] = b'Ren\xe9e Dupr\xe9 <text@example.org>'.decode('ascii', 'surrogateescape')
outer['To'] = 'bob@caliop.test'
outer['Subject'] = b"Facture r\xe9gl\xe9e \x96 20 \x80, c\x92est pay\xe9 =?utf-8?B?w58=?=".decode('ascii', 'surrogateescape')
outer['Date'] = 'Tue, 01 Dec 2026 10:00:00 +0000'
outer['Message-ID'] = '<outer-8bit@example.org>'
control = MIMEApplication('Version: 1\n', 'pgp-encrypted', encoders.encode_7or8bit)
data = MIMEApplication(read(HERE, 'outer-headers.gpg-enc.asc').decode(), 'octet-stream', encoders.encode_7or8bit)
outer.attach(control)
outer.attach(data)
write('outer-8bit-headers.pgpmime.eml', outer, smtp=False)

# docs/message-payload.md §4.5: HTML-only mail whose part declares no charset (set_content of
# bytes) but whose markup does, in the charset it names (Python's codecs); one where the MIME
# charset (iso-8859-1) is given and wins over the markup's utf-8; one whose <meta> stands after
# the first 1,024 bytes (not read: the guess).
RUSSIAN = 'Привет, мир! Съешь же ещё этих мягких французских булок.'
JAPANESE = '日本語のメール、テキストです。'
def html(meta, text, filler=''):
    return f'<!DOCTYPE html>\n<html><head>{filler}{meta}<title>t</title></head><body><p>{text}</p></body></html>\n'
def html_only(name, document, charset=None, cte='8bit'):
    message = EmailMessage()
    heads(message, name)
    if charset is None:
        message.set_content(document, 'text', 'html', cte=cte)
        assert message.get_content_charset() is None, name
    else:
        message.set_content(document.decode(charset), subtype='html', charset=charset, cte=cte)
    write(f'{name}.eml', message)
html_only('html-meta-koi8r.8bit', html('<meta charset="koi8-r">', RUSSIAN).encode('koi8-r'))
html_only('html-meta-cp1251.base64', html('<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=windows-1251">', RUSSIAN).encode('cp1251'), cte='base64')
html_only('html-meta-sjis.base64', html("<meta http-equiv=content-type content='text/html;charset=Shift_JIS'>", JAPANESE).encode('shift_jis'), cte='base64')
html_only('html-meta-late.8bit', html('<meta charset="koi8-r">', RUSSIAN, '<!--' + 'x' * 1100 + '-->').encode('koi8-r'))
html_only('html-mime-wins.qp', html('<meta charset="utf-8">', 'Déjà vu, 20 €'.replace('€', 'EUR')).encode('iso-8859-1'), charset='iso-8859-1', cte='quoted-printable')

# docs/message-payload.md §4.5, docs/decisions/mime.md item 6 (2026-12-02): 8-bit text of other
# scripts with no charset, encoded by Python's codecs and written by Python's email as above:
# the detector's guess, believed by the rule (src/api/charset-detector.ts).
RU = ('Здравствуйте! Счёт за декабрь оплачен, квитанция во вложении. Если будут вопросы, '
      'звоните в любое время.\nС уважением, Иван Петров\n')
JA = 'お世話になっております。十二月分の請求書をお送りします。\nご確認のほどよろしくお願いいたします。\n'
PL = ('Dzień dobry! Faktura za grudzień została opłacona, potwierdzenie przelewu znajduje się w '
      'załączniku. W razie pytań proszę dzwonić o każdej porze. Pozdrawiam serdecznie, Łukasz Wójcik\n')
for name, text in (('RU', RU), ('JA', JA), ('PL', PL)):
    with open(os.path.join(HERE, f'undeclared-{name.lower()}.txt'), 'wb') as out:
        out.write(text.encode())
undeclared('nocharset-koi8r.8bit', RU.encode('koi8-r'), '8bit')
undeclared('nocharset-sjis.base64', JA.encode('shift_jis'), 'base64')
undeclared('nocharset-cp1250.8bit', PL.encode('cp1250'), '8bit')
declared_ascii('usascii-cp1251.8bit', RU.encode('cp1251'))
# No MIME, its From name and Subject in raw windows-1251 bytes, as a script in a CP1251 locale sends it.
cyr = Message()
cyr['From'] = 'Иван Петров <text@example.org>'.encode('cp1251').decode('ascii', 'surrogateescape')
cyr['To'] = 'bob@caliop.test'
cyr['Subject'] = 'Счёт за декабрь оплачен'.encode('cp1251').decode('ascii', 'surrogateescape')
cyr['Date'] = 'Tue, 01 Dec 2026 10:00:00 +0000'
cyr.set_payload(RU.encode('cp1251'))
write('nomime-cp1251-headers.eml', cyr, smtp=False)
# docs/gateway.md §3.8: the PGP/MIME message above, its outer Subject and From name in raw KOI8-R bytes.
outer = MIMEMultipart('encrypted', protocol='application/pgp-encrypted', boundary='outer-koi8r')
outer['From'] = 'Иван Петров <text@example.org>'.encode('koi8-r').decode('ascii', 'surrogateescape')
outer['To'] = 'bob@caliop.test'
outer['Subject'] = 'Счёт за декабрь оплачен'.encode('koi8-r').decode('ascii', 'surrogateescape')
outer['Date'] = 'Tue, 01 Dec 2026 10:00:00 +0000'
outer['Message-ID'] = '<outer-koi8r@example.org>'
outer.attach(MIMEApplication('Version: 1\n', 'pgp-encrypted', encoders.encode_7or8bit))
outer.attach(MIMEApplication(read(HERE, 'outer-headers.gpg-enc.asc').decode(), 'octet-stream', encoders.encode_7or8bit))
write('outer-koi8r-headers.pgpmime.eml', outer, smtp=False)
# docs/message-payload.md §4.5 (a declared charset is believed): HTML-only, no MIME charset, its
# markup declaring utf-8 over Latin-1 bytes, as a template copied from a UTF-8 page and filled
# in Latin-1 writes it. Read as UTF-8, U+FFFD for each such byte, as a browser does; no guess.
html_only('html-meta-utf8-latin1.8bit', html('<meta charset="utf-8">', 'Déjà vu, café, Straße').encode('latin-1'))
