#!/usr/bin/env python3
# docs/decisions/mime.md item 6: the samples on which charset detectors were measured
# (2026-12-01). Real translated text, the gettext catalogs of Debian 12's /usr/share/locale
# (msgstr; and English msgids with Word's ’ “ ” – €), encoded with Python 3.11's codecs in the
# legacy charsets that mail without a charset uses. Kept for the record; not a test.
#   python3 test/vectors/charset-detect/make-samples.py /tmp/samples.json /tmp/western.json
import sys
import gettext, glob, json, base64, random, os, re
random.seed(9)
LANGS = {
  'ru': ['koi8-r', 'cp1251'], 'uk': ['koi8-u', 'cp1251'], 'bg': ['cp1251'],
  'ja': ['shift_jis', 'euc-jp'], 'zh_CN': ['gbk'], 'zh_TW': ['big5'], 'ko': ['euc-kr'],
  'el': ['iso-8859-7'], 'pl': ['iso-8859-2', 'cp1250'], 'cs': ['iso-8859-2', 'cp1250'],
  'fr': ['cp1252'], 'de': ['cp1252'], 'tr': ['cp1254'], 'he': ['cp1255'], 'ar': ['cp1256'],
}
from catalogs import catalog, cut_samples, encodable
def strings(lang):
    return catalog(lang, header=False, need=3)
samples = []
for lang, charsets in LANGS.items():
    pool = strings(lang)
    for charset in charsets:
        cut_samples(encodable(pool, charset), lang, charset, 30, samples)
print(len(samples))
json.dump(samples, open(sys.argv[1], 'w'), ensure_ascii=False)
from collections import Counter
print(Counter((s['lang'], s['charset']) for s in samples))

# ---- Western text, which the fixed guess (windows-1252) already reads right ----
import gettext, glob, json, base64, random, re
random.seed(11)
samples = []  # the Western set
def add(lang, pool, size, count, need=1):
    made = 0
    for s in pool:
        try: b = s.encode('cp1252')
        except UnicodeEncodeError: continue
        if sum(1 for x in b if x > 127) < need: continue
        text = s
        while len(text) > 1 and len(text.encode('cp1252')) > size: text = text[:-1]
        b = text.encode('cp1252')
        if not any(x > 127 for x in b): continue
        samples.append({'lang': lang, 'charset': 'cp1252', 'size': size, 'text': text, 'bytes': base64.b64encode(b).decode()})
        made += 1
        if made >= count: break
for lang in ['es', 'it', 'pt', 'nl', 'sv', 'da', 'fi', 'ca', 'fr', 'de']:
    pool = catalog(lang)
    add(lang, pool, 40, 30)
    longer = [' '.join(pool[i:i + 12]) for i in range(0, min(len(pool), 1200), 12)]
    add(lang, longer, 200, 30)
# English with Word's marks
ids = [s for s in catalog('fr', ids=True) if s.isascii() and ' ' in s]
marked = []
for s in ids:
    s = re.sub(r"(\w)'(\w)", '\\1’\\2', s)
    s = re.sub(r'"([^"]*)"', '“\\1”', s)
    s = s.replace(' - ', ' – ')
    if not s.isascii(): marked.append(s)
extra = [s + ' – ' + random.choice(['€20', 'it’s done', '“ok”']) for s in ids[:200]]
add('en+marks', marked + extra, 40, 40)
add('en+marks', [' '.join((marked + extra)[i:i + 8]) for i in range(0, 400, 8)], 200, 40)
print(len(samples))
json.dump(samples, open(sys.argv[2], 'w'), ensure_ascii=False)
from collections import Counter
print(Counter((s['lang'], s['size']) for s in samples))
