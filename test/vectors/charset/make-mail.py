#!/usr/bin/env python3
# The mail of test/charset-signatures.test.ts as Python's email package writes it (a real
# MUA library): each signed block of make.sh in a text/plain part of its charset, with the
# transfer encoding Python chooses for it (Latin-1: quoted-printable; windows-1252: base64;
# ISO-2022-JP: 7bit). Shift_JIS: Python would re-encode the text as ISO-2022-JP (other
# bytes: gpg too calls the signature bad), so the part is kept in Shift_JIS, base64. Kept for the record; the tests read the files.
#   python3 test/vectors/charset/make-mail.py
import os
from email.mime.text import MIMEText
from email import policy
from email.charset import Charset, BASE64

HERE = os.path.dirname(os.path.abspath(__file__))
CHARSETS = {'latin1': 'iso-8859-1', 'cp1252': 'windows-1252', 'sjis': 'shift_jis', 'iso2022jp': 'iso-2022-jp'}
for name, charset in CHARSETS.items():
    for kind in ('gpg-clear', 'gpg-inline-text'):
        raw = open(os.path.join(HERE, f'{name}.{kind}.asc'), 'rb').read()
        declared = charset
        if charset == 'shift_jis':
            declared = Charset('shift_jis')
            declared.output_charset, declared.body_encoding = 'shift_jis', BASE64
        message = MIMEText(raw.decode(charset), 'plain', declared)
        # The part must carry the signed bytes exactly: checked, not assumed.
        assert message.get_payload(decode=True) == raw, (name, kind)
        message['From'] = 'Text Peer <text@example.org>'
        message['To'] = 'bob@caliop.test'
        message['Subject'] = f'{name} {kind}'
        message['Date'] = 'Tue, 01 Dec 2026 10:00:00 +0000'
        with open(os.path.join(HERE, f'{name}.{kind}.eml'), 'wb') as out:
            out.write(message.as_bytes(policy=policy.SMTP))
