# docs/decisions/mime.md item 6: the gettext catalogs of /usr/share/locale as make-samples.py
# and make-fresh-samples.py read them (one place, 2026-12-02; the samples are the same bytes).
import base64, gettext, glob, random, re


def clean(s):
    """printf and format markers, accelerators and line breaks out; blanks folded."""
    s = re.sub(r'%[a-z0-9$.\-]*[sdiuxXlf]|\{[^}]*\}|\\[nt]|[\n\t]+|_|&', ' ', s)
    return re.sub(r'\s+', ' ', s).strip()


def catalog(lang, ids=False, header=True, need=0):
    """The msgstrs (msgids with ids) of 12 characters or more, cleaned, with `need` non-ASCII
    characters or more, shuffled; the catalog's header entry kept unless header=False."""
    out = []
    for mo in sorted(glob.glob(f'/usr/share/locale/{lang}/LC_MESSAGES/*.mo')):
        try:
            t = gettext.GNUTranslations(open(mo, 'rb'))
        except Exception:
            continue
        for k, v in t._catalog.items():
            s = k if ids else v
            if not isinstance(s, str) or (not header and k == '') or len(s) < 12: continue
            s = clean(s)
            if sum(1 for c in s if ord(c) > 127) >= need: out.append(s)
    random.shuffle(out)
    return out


def encodable(pool, charset, minimum=0):
    """The texts of `pool` that `charset` can write, shuffled; none (and no shuffle) when
    fewer than `minimum`."""
    usable = []
    for s in pool:
        try: s.encode(charset)
        except UnicodeEncodeError: continue
        usable.append(s)
    if len(usable) < minimum: return []
    random.shuffle(usable)
    return usable


def cut_samples(usable, lang, charset, count, out):
    """`count` samples of 40, 200 and 1,000 bytes each: texts of `usable` joined, cut on a
    character boundary near the size; a sample with no 8-bit byte is dropped."""
    i = 0
    for size in (40, 200, 1000):
        for n in range(count):
            text = ''
            while len(text.encode(charset)) < size:
                text += (' ' if text else '') + usable[i]; i = (i + 1) % len(usable)
            while len(text) > 1 and len(text.encode(charset)) > size: text = text[:-1]
            b = text.encode(charset)
            if not any(x > 127 for x in b): continue
            out.append({'lang': lang, 'charset': charset, 'size': size, 'text': text, 'bytes': base64.b64encode(b).decode()})
