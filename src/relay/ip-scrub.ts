// docs/disclosure.md §3: what is left of a text once the IP addresses in it are cut, for the
// log lines and the stored facts past the retention period. An address may come bracketed
// (`mx.example [192.0.2.1]`, an EHLO address literal `[IPv6:2001:db8::5]`) or bare (an EHLO
// of `198.51.100.7`); every whitespace-separated word that is an IP address (node:net's
// isIP, after its brackets, an `IPv6:` tag and a trailing punctuation) goes. No I/O.
import { isIP } from 'node:net';

const BRACKETED = /\s*\[(?:IPv6:)?[0-9a-fA-F:.]+\]/gi;

/** The word as an address would be written in it: brackets, an `IPv6:` tag, punctuation around it removed. */
function bareWord(word: string): string {
  return word.replace(/^[[(<"']+|[\])>"',;.]+$/g, '').replace(/^IPv6:/i, '');
}

/** `text` without the IP addresses in it (bracketed ones with the space before them). */
export function withoutIpAddresses(text: string): string {
  const unbracketed = text.replace(BRACKETED, '');
  if (!/[0-9a-fA-F][.:]/.test(unbracketed)) return unbracketed;
  // Each word with the space before it; an address goes with its space.
  return unbracketed.replace(/(\s*)(\S+)/g, (whole, _space: string, word: string) => (isIP(bareWord(word)) !== 0 ? '' : whole)).replace(/^\s+/, '');
}
