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

/** "Name <a@b>" → {name, address}; 'a@b ("Name")' (docs/exposure.md §4.1.1) → {name, address, nameAfter}; else the address alone. */
export function splitMailbox(mailbox: string): { readonly name: string; readonly address: string; readonly nameAfter: boolean } {
  const angle = /^\s*"?(.*?)"?\s*<([^<>]*)>\s*$/u.exec(mailbox);
  if (angle) return { name: angle[1]!.trim(), address: angle[2]!.trim(), nameAfter: false };
  const after = /^\s*(\S+@\S+)\s+\("(.*)"\)\s*$/u.exec(mailbox);
  if (after) return { name: after[2]!, address: after[1]!, nameAfter: true };
  return { name: '', address: mailbox.trim(), nameAfter: false };
}

/** The address alone in `columns`: whole, else its local part cut ("alexandra-ma…@example.org"), else its start cut. */
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
