#!/usr/bin/env python3
# docs/decisions/mime.md item 6: samples the detector's acceptance rule was NOT tuned on
# (2026-12-02), to check the rule tuned on make-samples.py's. Two other sources on Debian 12:
# the gettext catalogs of languages make-samples.py does not read (Serbian, Macedonian,
# Belarusian, Hong Kong Chinese, Slovak, Hungarian, Slovene, Croatian, Romanian, Persian,
# Galician, Basque, Icelandic, Norwegian, Afrikaans, Brazilian Portuguese...), and the
# translated manual pages of /usr/share/man/LANG (groff source, markup removed); charsets
# make-samples.py has not (ISO-8859-5, windows-1253, ISO-8859-8, windows-1257...). Python
# 3.11's codecs; 40, 200 and 1,000 bytes. Kept for the record; not a test.
#   python3 test/vectors/charset-detect/make-fresh-samples.py /tmp/fresh.json /tmp/fresh-western.json
import sys, gettext, glob, json, base64, random, re, gzip
random.seed(2026)
from catalogs import clean, catalog as read_catalog, cut_samples, encodable
def catalog(lang, ids=False):
    return read_catalog(lang, ids, header=False)
def manpages(lang):
    out = []
    for path in sorted(glob.glob(f'/usr/share/man/{lang}/man*/*.gz')):
        try: text = gzip.open(path).read().decode('utf-8')
        except Exception: continue
        for line in text.split('\n'):
            if line.startswith(('.', "'", '\\"')) or len(line) < 12: continue
            line = re.sub(r'\\f[BIRP]|\\f\[[A-Z]*\]|\\[-&|e]|\\\(..|\\\*\(..|\\[^ ]', ' ', line)
            line = clean(line)
            if len(line) >= 12: out.append(line)
    random.shuffle(out)
    return out
def make(source, lang, charsets, out, need=3):
    pool = [s for s in source if sum(1 for c in s if ord(c) > 127) >= need]
    for charset in charsets:
        usable = encodable(pool, charset, minimum=40)
        if usable: cut_samples(usable, lang, charset, 20, out)
GETTEXT = {
  'sr': ['cp1251', 'iso-8859-5'], 'mk': ['cp1251'], 'be': ['cp1251'], 'ru': ['iso-8859-5'],
  'zh_HK': ['big5'], 'fa': ['cp1256'], 'el': ['cp1253'], 'he': ['iso-8859-8'],
  'sk': ['cp1250', 'iso-8859-2'], 'hu': ['iso-8859-2'], 'sl': ['cp1250'], 'hr': ['cp1250'], 'ro': ['cp1250'],
  'lt': ['cp1257'], 'lv': ['cp1257'],
}
MAN = {
  'ru': ['koi8-r', 'cp1251'], 'uk': ['koi8-u'], 'ja': ['shift_jis', 'euc-jp'], 'ko': ['euc-kr'],
  'zh_CN': ['gbk'], 'zh_TW': ['big5'], 'pl': ['iso-8859-2'], 'cs': ['cp1250'], 'tr': ['cp1254'],
}
fresh = []
for lang, charsets in GETTEXT.items(): make(catalog(lang), lang, charsets, fresh)
for lang, charsets in MAN.items(): make(manpages(lang), f'man:{lang}', charsets, fresh)
json.dump(fresh, open(sys.argv[1], 'w'), ensure_ascii=False)
from collections import Counter
print(len(fresh), Counter((s['lang'], s['charset']) for s in fresh))
western = []
for lang in ['pt_BR', 'gl', 'eu', 'is', 'nb', 'nn', 'af', 'id', 'oc', 'br']:
    make(catalog(lang), lang, ['cp1252'], western, need=1)
for lang in ['de', 'es', 'fr', 'it', 'nl', 'pt', 'sv', 'da']:
    make(manpages(lang), f'man:{lang}', ['cp1252'], western, need=1)
# English with Word's marks, from another catalog's msgids than make-samples.py's (de, not fr)
ids = [s for s in catalog('de', ids=True) if s.isascii() and ' ' in s]
marked = []
for s in ids:
    s = re.sub(r"(\w)'(\w)", '\\1’\\2', s); s = re.sub(r'"([^"]*)"', '“\\1”', s); s = s.replace(' - ', ' – ')
    marked.append(s if not s.isascii() else s + random.choice([' – €5', ' (it’s here)', ' “fine”', '']))
make(marked, 'en+marks', ['cp1252'], western, need=1)
json.dump(western, open(sys.argv[2], 'w'), ensure_ascii=False)
print(len(western), Counter((s['lang']) for s in western))
