// docs/message-payload.md §4.5, docs/decisions/mime.md item 6: the charset detector, asked
// only about text in no declared charset whose bytes are not UTF-8, and believed only when it
// names a charset of another script with confidence and the bytes decode cleanly in it; else
// the guess stays windows-1252. `jschardet` (pinned; 77-91 ms of CPU and 12.5 MiB to load,
// 58-63 MiB more for its models at its first detection) is loaded by a dynamic import, only
// when such text is met (`loadCharsetDetector`): nothing at the start of caliop or the relay.
// Pure: bytes in, a charset or nothing out (jschardet's own I/O-free code, node:zlib's inflate
// of its models in memory).

/** jschardet's `detect`, as this file calls it. */
type Detect = (bytes: Uint8Array) => { readonly encoding: string | null; readonly confidence: number } | null | undefined;

/**
 * docs/message-payload.md §4.5: the charsets the detector may name, each as the WHATWG label it is
 * decoded with: scripts other than Latin (Cyrillic, Japanese, Chinese, Korean, Greek, Hebrew,
 * Arabic), and Central European and Turkish Latin.
 */
export const DETECTED_CHARSETS = [
  'koi8-r', 'koi8-u', 'windows-1251', 'iso-8859-5',
  'shift_jis', 'euc-jp', 'gb18030', 'big5', 'euc-kr',
  'iso-8859-7', 'windows-1253', 'windows-1255', 'windows-1256', 'iso-8859-6',
  'windows-1250', 'iso-8859-2', 'windows-1254',
] as const;
export type DetectedCharset = (typeof DETECTED_CHARSETS)[number];

/** jschardet 4.0.0's names (lower case) of the charsets above; the other names it gives are not believed. */
const OTHER_SCRIPTS: Readonly<Record<string, DetectedCharset>> = {
  'koi8-r': 'koi8-r', 'koi8-u': 'koi8-u', 'windows-1251': 'windows-1251', 'iso-8859-5': 'iso-8859-5',
  // WHATWG's shift_jis is Microsoft's CP932, its euc-kr Microsoft's CP949 (UHC), gb18030 a superset of GBK.
  'shift_jis': 'shift_jis', 'cp932': 'shift_jis', 'euc-jp': 'euc-jp', 'gb18030': 'gb18030', 'gb2312': 'gb18030', 'gbk': 'gb18030',
  'big5': 'big5', 'cp949': 'euc-kr', 'euc-kr': 'euc-kr',
  'iso-8859-7': 'iso-8859-7', 'windows-1253': 'windows-1253',
  // ISO-8859-8's letters are windows-1255's, read in logical order as mail writes them.
  'windows-1255': 'windows-1255', 'iso-8859-8': 'windows-1255',
  'windows-1256': 'windows-1256', 'iso-8859-6': 'iso-8859-6',
};
/** Latin charsets, where Western text misread is one letter in another: believed on more evidence. */
const OTHER_LATIN: Readonly<Record<string, DetectedCharset>> = {
  'windows-1250': 'windows-1250', 'iso-8859-2': 'iso-8859-2', 'windows-1254': 'windows-1254', 'iso-8859-9': 'windows-1254',
};

/**
 * The acceptance rule, tuned on test/vectors/charset-detect/make-samples.py's samples and
 * checked on make-fresh-samples.py's (docs/decisions/mime.md item 6): a charset of another
 * script from a confidence of 0.15 (Western text was never named one above 0.08); a Latin one
 * from 0.3 (Western text was named windows-1250 up to 0.31) and 3 bytes of 8 bits (one or two
 * accented letters are too little to tell Polish from Italian).
 */
export const DETECTOR_RULE = { otherScript: 0.15, otherLatin: 0.3, otherLatinMinEightBit: 3 } as const;

/** The detector sees at most this many bytes (the start of a text tells its charset; 1 MiB costs it 100 ms). */
export const DETECTED_BYTES = 64 * 1024;

let detect: Detect | undefined;
let loading: Promise<void> | undefined;

/** True once `loadCharsetDetector` has resolved: `detectedCharsetOf` may then answer. */
export function charsetDetectorLoaded(): boolean {
  return detect !== undefined;
}

/** docs/decisions/mime.md item 6: loads jschardet, once per process (or worker), when undeclared text needs it. */
export function loadCharsetDetector(): Promise<void> {
  loading ??= import('jschardet').then((module) => {
    detect = module.detect as Detect;
  });
  return loading;
}

function eightBitBytes(bytes: Uint8Array): number {
  let count = 0;
  for (const byte of bytes) count += byte >>> 7;
  return count;
}

/** The bytes decode in `charset` with no byte it leaves unmapped, no U+FFFD and no C1 control (which no text holds). */
function decodesCleanly(bytes: Uint8Array, charset: DetectedCharset): boolean {
  let text: string;
  try {
    text = new TextDecoder(charset, { fatal: true }).decode(bytes);
  } catch {
    return false;
  }
  return !/[\u0080-\u009f\ufffd]/.test(text);
}

/**
 * docs/message-payload.md §4.5: the charset of undeclared bytes that are not UTF-8, when the
 * detector is loaded and its answer passes DETECTOR_RULE; undefined otherwise (the caller keeps
 * windows-1252).
 */
export function detectedCharsetOf(bytes: Uint8Array): DetectedCharset | undefined {
  if (detect === undefined) return undefined;
  const answer = detect(bytes.subarray(0, DETECTED_BYTES));
  const name = (answer?.encoding ?? '').toLowerCase();
  const confidence = answer?.confidence ?? 0;
  const script = OTHER_SCRIPTS[name];
  if (script !== undefined) return confidence >= DETECTOR_RULE.otherScript && decodesCleanly(bytes, script) ? script : undefined;
  const latin = OTHER_LATIN[name];
  if (latin === undefined || confidence < DETECTOR_RULE.otherLatin || eightBitBytes(bytes) < DETECTOR_RULE.otherLatinMinEightBit) return undefined;
  return decodesCleanly(bytes, latin) ? latin : undefined;
}
