// A mailbox ("Name <address>") in a column of a given width (docs/ui.md §4, the inbox):
// the whole of it if it fits; else the display name is cut first, then dropped; the
// address is cut only when it alone is wider than the column, and then in its local part,
// so that the domain (who runs the mailbox) stays whole as long as it can. Pure; widths
// are counted in code points (the caller has made the text terminal-safe).

const ELLIPSIS = '…';

function width(text: string): number {
  return [...text].length;
}

function head(text: string, columns: number): string {
  return [...text].slice(0, Math.max(0, columns)).join('');
}

function tail(text: string, columns: number): string {
  const points = [...text];
  return points.slice(Math.max(0, points.length - columns)).join('');
}

const LINE_TERMINATOR = /[\n\r\u2028\u2029]/;

/**
 * `Name <address>` and `"Name" <address>` read in one pass (what /^\s*"?(.*?)"?\s*<([^<>]*)>\s*$/
 * matched: the address after the last '<', a name on one line). The sender writes the From
 * field: that expression backtracked in the square of a run of spaces inside the name, and a
 * 1 MiB From (docs/limits.md §2.3) held the inbox for minutes (docs/fuzzing.md).
 * `address` is empty for `Name <>`; null when it is not of that form.
 */
export function splitAngleMailbox(mailbox: string): { readonly name: string; readonly address: string } | null {
  const end = mailbox.trimEnd();
  if (!end.endsWith('>')) return null;
  const open = end.lastIndexOf('<');
  if (open === -1) return null;
  const address = end.slice(open + 1, -1);
  if (address.includes('>')) return null;
  let name = mailbox.slice(0, open).trimStart();
  if (name.startsWith('"')) name = name.slice(1);
  name = name.trimEnd();
  if (name.endsWith('"')) name = name.slice(0, -1);
  if (LINE_TERMINATOR.test(name)) return null;
  return { name: name.trim(), address: address.trim() };
}

/** 'a@b ("Name")' (docs/exposure.md §4.1.1) read in one pass, as splitAngleMailbox (was /^\s*(\S+@\S+)\s+\("(.*)"\)\s*$/, square in the @ of a long word). */
function splitNameAfter(mailbox: string): { readonly name: string; readonly address: string } | null {
  const text = mailbox.trim();
  const word = /^\S+/.exec(text)?.[0] ?? '';
  const at = word.indexOf('@', 1);
  if (at === -1 || at === word.length - 1) return null;
  const rest = text.slice(word.length);
  const space = /^\s+/.exec(rest)?.[0] ?? '';
  if (space === '' || !rest.startsWith('("', space.length) || !rest.endsWith('")') || rest.length < space.length + 4) return null;
  const name = rest.slice(space.length + 2, -2);
  return LINE_TERMINATOR.test(name) ? null : { name, address: word };
}

/** "Name <a@b>" → {name, address}; 'a@b ("Name")' (docs/exposure.md §4.1.1) → {name, address, nameAfter}; else the address alone. */
export function splitMailbox(mailbox: string): { readonly name: string; readonly address: string; readonly nameAfter: boolean } {
  const angle = splitAngleMailbox(mailbox);
  if (angle) return { ...angle, nameAfter: false };
  const after = splitNameAfter(mailbox);
  if (after) return { ...after, nameAfter: true };
  return { name: '', address: mailbox.trim(), nameAfter: false };
}

/** The address alone in `columns`: whole, else its local part cut ("alexandra-ma…@example.org"), else the domain's start cut, else both. */
export function fitAddress(address: string, columns: number): string {
  if (width(address) <= columns) return address;
  if (columns <= 1) return head(ELLIPSIS, columns);
  const at = address.lastIndexOf('@');
  const domain = at >= 0 ? address.slice(at) : '';
  const local = at >= 0 ? address.slice(0, at) : address;
  const room = columns - width(domain) - 1;
  if (at >= 0 && room >= 2) return `${head(local, room)}${ELLIPSIS}${domain}`;
  // The domain alone is too wide: the whole local part and the domain's end ("bob@…op.example").
  const domainRoom = columns - width(local) - 2;
  if (at >= 0 && domainRoom >= 4) return `${local}@${ELLIPSIS}${tail(domain.slice(1), domainRoom)}`;
  // Both too wide: the start of the local part, the @ and the domain's end ("jean-b…@…aise.example"),
  // so the line still reads as an address and says whose (issue 16: it was "…ie-francaise.example").
  const both = columns - 3;
  if (at >= 0 && both >= 6) {
    const localRoom = Math.max(2, Math.floor(both / 3));
    return `${head(local, localRoom)}${ELLIPSIS}@${ELLIPSIS}${tail(domain.slice(1), both - localRoom)}`;
  }
  return `${ELLIPSIS}${tail(address, columns - 1)}`;
}

/** The mailbox in exactly `columns` (padded with spaces): names are cut before addresses. */
export function fitMailbox(mailbox: string, columns: number): string {
  const { name, address, nameAfter } = splitMailbox(mailbox);
  const whole = name === '' ? address : nameAfter ? `${address} ("${name}")` : `${name} <${address}>`;
  let shown: string;
  if (width(whole) <= columns) shown = whole;
  else {
    // The name cut, when at least two of its characters and the whole address fit.
    const frame = nameAfter ? width(address) + 5 : width(address) + 3; // ' ("' + '")'  or  ' <' + '>'
    const room = columns - frame - 1;
    if (name !== '' && room >= 2) {
      const cut = `${head(name, room)}${ELLIPSIS}`;
      shown = nameAfter ? `${address} ("${cut}")` : `${cut} <${address}>`;
    } else shown = fitAddress(address, columns);
  }
  return shown + ' '.repeat(Math.max(0, columns - width(shown)));
}

/** Recipients after a word ("to bob@caliop.example +2"), in exactly `columns`: the first address, the count of the others. */
export function fitAddressList(prefix: string, addresses: readonly string[], columns: number): string {
  const more = addresses.length > 1 ? ` +${addresses.length - 1}` : '';
  const shown = `${prefix}${fitAddress(addresses[0] ?? '', columns - width(prefix) - width(more))}${more}`;
  const cut = width(shown) > columns ? head(shown, columns) : shown;
  return cut + ' '.repeat(Math.max(0, columns - width(cut)));
}

/**
 * docs/exposure.md §4.1.1, docs/ui.md §4: a From that names a contact (or us) but is not proven
 * (unsigned, or submitted by another account): never shown as that contact. `claimed` is the From
 * as written (displayMailbox'd), `outer` the sender the relay vouches for when it is another
 * address (the account that submitted it; the outer From of mail from outside), else null.
 */
export interface UnprovenSender {
  readonly claimed: string;
  readonly outer: string | null;
}

/** The marker of an unproven sender in the inbox's column (docs/ui.md §4). */
export const UNPROVEN_MARK = '?';

/** The English words of senderLine (the CLI's and JSON's; the interface's are fromUnproven* in src/ui/i18n). */
const UNPROVEN_WORDS = (claimed: string, outer: string | null): string => (outer === null ? `${claimed} (not proven)` : `${outer} (not proven: ${claimed})`);

/** The sender as a header line shows it: `claimed (not proven)`, or `outer (not proven: claimed)`; `words` in the reader's language. */
export function senderLine(from: string, unproven: UnprovenSender | null, words: (claimed: string, outer: string | null) => string = UNPROVEN_WORDS): string {
  return unproven === null ? from : words(unproven.claimed, unproven.outer);
}

/** The sender in the inbox's column of `columns`: an unproven one marked first, then the sender the relay vouches for if there is one. */
export function fitSender(from: string, unproven: UnprovenSender | null, columns: number): string {
  if (unproven === null) return fitMailbox(from, columns);
  return `${UNPROVEN_MARK} ${fitMailbox(unproven.outer ?? unproven.claimed, columns - UNPROVEN_MARK.length - 1)}`;
}
