#!/usr/bin/env python3
# Known answers of docs/message-payload.md §4.5's guess (test/charset-detector.test.ts): text in
# no declared charset, encoded by Python 3.11's codecs; `expect` is the charset the text must be
# shown in (`guess`), the one it was written in when the rule believes the detector, windows-1252
# when it must not (Western text, and too little evidence). One case a line.
#   python3 test/vectors/charset-detect/make-vectors.py > test/vectors/charset-detect/undeclared.json
import base64, json
CASES = [
  # (name, codec, WHATWG label expected, text)
  ('Russian, KOI8-R', 'koi8-r', 'koi8-r', 'Здравствуйте! Счёт за декабрь оплачен, квитанция во вложении.'),
  ('Russian, windows-1251', 'cp1251', 'windows-1251', 'Здравствуйте! Счёт за декабрь оплачен, квитанция во вложении.'),
  ('Russian subject alone, KOI8-R', 'koi8-r', 'koi8-r', 'Счёт за декабрь оплачен'),
  ('Ukrainian, KOI8-U', 'koi8-u', 'koi8-u', 'Доброго дня! Рахунок за грудень сплачено, квитанція у вкладенні. Дякую, що звернулися.'),
  ('Bulgarian, ISO-8859-5', 'iso-8859-5', 'iso-8859-5', 'Здравейте! Фактурата за декември е платена, разписката е в приложението.'),
  ('Japanese, Shift_JIS', 'shift_jis', 'shift_jis', 'お世話になっております。十二月分の請求書をお送りします。'),
  ('Japanese, EUC-JP', 'euc-jp', 'euc-jp', 'お世話になっております。十二月分の請求書をお送りします。'),
  ('Chinese, GBK (read as GB18030, its superset)', 'gbk', 'gb18030', '您好！十二月的账单已经付清，收据在附件中。如有问题，请随时联系。'),
  ('Chinese, Big5', 'big5', 'big5', '您好！十二月的帳單已經付清，收據在附件中。如有問題，請隨時聯繫。'),
  ('Korean, EUC-KR', 'euc-kr', 'euc-kr', '안녕하세요. 12월 청구서를 보내 드립니다. 확인 부탁드립니다.'),
  ('Greek, ISO-8859-7 (named windows-1253, the same letters in this text)', 'iso-8859-7', 'windows-1253', 'Καλημέρα σας! Ο λογαριασμός του Δεκεμβρίου πληρώθηκε, η απόδειξη είναι στο συνημμένο αρχείο.'),
  ('Greek, windows-1253', 'cp1253', 'windows-1253', 'Καλημέρα! Ο λογαριασμός του Δεκεμβρίου πληρώθηκε, η απόδειξη είναι στο συνημμένο.'),
  ('Hebrew, windows-1255', 'cp1255', 'windows-1255', 'שלום! החשבון לחודש דצמבר שולם, הקבלה מצורפת. אם יש שאלות, אפשר להתקשר בכל שעה.'),
  ('Arabic, windows-1256', 'cp1256', 'windows-1256', 'مرحبا! تم دفع فاتورة شهر ديسمبر، والإيصال مرفق. إذا كانت لديك أسئلة، اتصل في أي وقت.'),
  ('Polish, windows-1250', 'cp1250', 'windows-1250', 'Dzień dobry! Faktura za grudzień została opłacona, potwierdzenie przelewu znajduje się w załączniku. W razie pytań proszę dzwonić o każdej porze. Pozdrawiam serdecznie, Łukasz Wójcik'),
  ('Czech, ISO-8859-2 (jschardet: windows-1250, 0.28, under the rule\'s 0.3: shown as before)', 'iso-8859-2', 'windows-1252', 'Dobrý den, faktura za prosinec byla zaplacena, potvrzení o platbě najdete v příloze. Pokud budete mít otázky, volejte kdykoli. S pozdravem, Jiří Dvořák'),
  ('Turkish, windows-1254 (jschardet: 0.26, under the rule\'s 0.3: shown as before)', 'cp1254', 'windows-1252', 'Merhaba! Aralık ayı faturası ödendi, makbuz ektedir. Sorularınız olursa istediğiniz zaman arayabilirsiniz. Saygılarımla, Ayşe Yılmaz'),
  # Western: windows-1252 whatever the detector says (the fixed guess read them right).
  ('French, windows-1252', 'cp1252', 'windows-1252', 'Bonjour, la facture de décembre est réglée : 20 € – « déjà vu ». À bientôt, Renée'),
  ('German, Latin-1', 'latin-1', 'windows-1252', 'Grüße aus Köln: café, Straße, naïve. Zweite Zeile é ß'),
  ('Italian, one è (jschardet: windows-1250, 0.31)', 'cp1252', 'windows-1252', 'La stringa di prompt per prima cosa è va'),
  ('Basque with quotes (jschardet: windows-1250, 0.26)', 'cp1252', 'windows-1252', '“ ” balioa ezin da zenbaki gisa interpretatu “a%c\' motako matrizea aurkitu da, expected to have a length a multiple of b'),
  ('Spanish, windows-1252', 'cp1252', 'windows-1252', 'info bits no válidos en archivo , posición'),
  ('Icelandic, ð þ (windows-1254 has ğ ş there)', 'cp1252', 'windows-1252', 'Þú getur ekki vistað skrána því að hún er ekki til. Reyndu aftur síðar með öðru nafni.'),
  ('English with Word\'s marks', 'cp1252', 'windows-1252', 'It’s done – “ok” for €20'),
  # Too little evidence: a Latin charset other than windows-1252 with one or two letters stays windows-1252.
  ('Polish, one letter (too little to tell)', 'cp1250', 'windows-1252', 'Faktura za grudzień'),
]
out = []
for name, codec, expect, text in CASES:
    data = text.encode(codec)
    assert any(b > 127 for b in data), name
    out.append({'name': name, 'codec': codec, 'expect': expect, 'text': text, 'bytes': base64.b64encode(data).decode()})
print(json.dumps(out, ensure_ascii=False, indent=1))
