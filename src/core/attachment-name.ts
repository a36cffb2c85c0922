// docs/message-payload.md §5.2: the file name an attachment is saved under. The
// sender's name is a claim from outside: it may hold path separators, "..", control
// characters, a leading dot (a hidden file), a Windows device name (CON, NUL,
// COM1…) or be empty. The result is always one plain file name, safe on Linux,
// macOS and Windows alike (the stick moves between them).

/** Windows ignores spaces after a device name's base (`CON .txt` is CON): they count as none. */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)\s*(\..*)?$/i;
const MAX_BYTES = 200;

function truncateUtf8(text: string, maxBytes: number): string {
  let out = '';
  let used = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (used + size > maxBytes) break;
    out += char;
    used += size;
  }
  return out;
}

/** A safe file name for attachment `index` (1-based) whose sender-given name is `name`. */
export function safeAttachmentName(name: string, index: number): string {
  let safe = name
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '') // controls and bidi overrides
    .replace(/[/\\:*?"<>|]/g, '_') // separators and what Windows forbids
    .replace(/^[\s.]+/, ''); // no leading dot: no hidden file, no "." or ".."
  // Windows drops trailing dots and spaces. From the end, in one pass: /[\s.]+$/ cost the square
  // of a run of them inside the name, which the sender writes (docs/fuzzing.md).
  let end = safe.length;
  while (end > 0 && /[\s.]/.test(safe[end - 1]!)) end -= 1;
  safe = safe.slice(0, end);
  if (WINDOWS_DEVICE.test(safe)) safe = `_${safe}`;
  if (safe === '') safe = `attachment-${index}`;
  if (Buffer.byteLength(safe, 'utf8') > MAX_BYTES) {
    const dot = safe.lastIndexOf('.');
    const extension = dot > 0 && safe.length - dot <= 16 ? safe.slice(dot) : '';
    safe = truncateUtf8(safe.slice(0, safe.length - extension.length), MAX_BYTES - Buffer.byteLength(extension, 'utf8')) + extension;
  }
  return safe;
}

/** Names for a set of attachments saved together: two parts with the same name get " (2)", " (3)"… */
export function uniqueAttachmentNames(names: readonly { name: string; index: number }[]): string[] {
  const taken = new Set<string>();
  return names.map(({ name, index }) => {
    const base = safeAttachmentName(name, index);
    let candidate = base;
    for (let counter = 2; taken.has(candidate.toLowerCase()); counter += 1) {
      const dot = base.lastIndexOf('.');
      candidate = dot > 0 ? `${base.slice(0, dot)} (${counter})${base.slice(dot)}` : `${base} (${counter})`;
    }
    taken.add(candidate.toLowerCase());
    return candidate;
  });
}

const MEDIA_TYPES: Record<string, string> = {
  pdf: 'application/pdf', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', svg: 'image/svg+xml',
  txt: 'text/plain', csv: 'text/csv', md: 'text/markdown', html: 'text/html', htm: 'text/html', json: 'application/json', xml: 'application/xml',
  zip: 'application/zip', gz: 'application/gzip', tar: 'application/x-tar', '7z': 'application/x-7z-compressed',
  odt: 'application/vnd.oasis.opendocument.text', ods: 'application/vnd.oasis.opendocument.spreadsheet', odp: 'application/vnd.oasis.opendocument.presentation',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation', doc: 'application/msword', xls: 'application/vnd.ms-excel',
  mp3: 'audio/mpeg', ogg: 'audio/ogg', wav: 'audio/wav', mp4: 'video/mp4', webm: 'video/webm', eml: 'message/rfc822', asc: 'application/pgp-keys', ics: 'text/calendar',
};

/** The media type a file is sent as, from its extension; application/octet-stream when unknown. */
export function mediaTypeFor(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  return (dot >= 0 && MEDIA_TYPES[fileName.slice(dot + 1).toLowerCase()]) || 'application/octet-stream';
}
