// Reading stored messages (docs/vault-contents.md §5.3, docs/message-payload.md §5-§6,
// docs/exposure.md §4.1.1): decrypt, check the signatures and judge the sender; find,
// mark read and delete.
import type * as openpgp from 'openpgp';
import { overLimitReasonIn, type OverLimitReason } from '../core/message-limits.js';
import { bareAddress } from '../core/message-payload.js';
import { loadedInlineBlock, lf, readMailContent, withSignedText, type ArrivalHeaders, type AttachmentPart, type MailContent } from '../core/mail-content.js';
import { decodeTextLoadingDetector, unflowText, type CharsetGuess } from '../core/text-charset.js';
import { withoutTrailingWhite } from '../core/text-signature-forms.js';
import type { StoredMessage } from '../core/vault-contents.js';
import { OuterHeadersSchema } from '../api/facts.js';
import { isCaliopError } from '../errors.js';
import type { OpenedSignature } from '../core/message-facts.js';
import { findContact } from './contacts.js';
import { ciphertextBytes } from './message-blobs.js';
import { decryptData, isValidSignature, verifyData, type SignatureCheck } from './pgp.js';
import { verifyDetachedDigests } from './pgp-detached-digest.js';
import type { StickSession } from './stick-session.js';

const utf8 = new TextEncoder();

/** How a message's signature relates to its sender (docs/vault-contents.md §5.3). */
export type SignatureStatus = OpenedSignature;

export interface SenderCheck {
  readonly signature: SignatureStatus;
  /** docs/exposure.md §4.1.1: the From names a contact (or us) but is not proven, or another account submitted it. */
  readonly fromClaim?: { readonly kind: 'contact-unproven' | 'not-submitter'; readonly address: string };
  /** The sender's key as we hold it: verified in person, trusted on first use, changed, unknown, or ours. */
  readonly senderKey: 'verified' | 'unverified' | 'changed' | 'unknown' | 'self';
  readonly signerFingerprint: string | null;
}

/**
 * `partial`: docs/message-payload.md §6.8, the checks of an inline block that does not cover all
 * the text. The sender's good signature found among them (and none over the whole message) is
 * `partly-signed`: unsigned as a whole (docs/exposure.md §4.1).
 */
function judgeSender(session: StickSession, fromAddress: string, checks: readonly SignatureCheck[], relayFacts?: unknown, partial: readonly SignatureCheck[] = []): SenderCheck {
  const self = fromAddress === session.contents.identity.email.toLowerCase();
  const contact = findContact(session.contents.contacts, fromAddress);
  const senderKey: SenderCheck['senderKey'] = self ? 'self' : contact ? (contact.changedCert ? 'changed' : contact.verification) : 'unknown';
  const expected = self ? session.contents.identity.fingerprint : contact?.fingerprint;
  // docs/cli.md §6.2: good or good-weak by the sender's key; `bad` only when a signature does not verify.
  // §6.8: a signature over the whole message first, then one over a block that covers part of it.
  const bySender = (list: readonly SignatureCheck[]) => list.find((check) => check.status === 'good' && check.signerFingerprint === expected)
    ?? list.find((check) => isValidSignature(check) && check.signerFingerprint === expected);
  const good = bySender(checks.filter((check) => !partial.includes(check))) ?? bySender(partial) ?? checks.find(isValidSignature);
  const keyProblem = checks.find((check) => check.status === 'expired-key' || check.status === 'revoked-key' || check.status === 'unsupported-algorithm');
  let signature: SignatureStatus;
  if (checks.some((check) => check.status === 'bad')) signature = 'bad';
  else if (good && good.signerFingerprint === expected) signature = partial.includes(good) ? 'partly-signed' : good.status === 'good-weak' ? 'good-weak' : 'good';
  else if (good) signature = 'signer-mismatch'; // a valid signature, but by someone else than the From address
  else if (keyProblem) signature = keyProblem.status as SignatureStatus;
  // docs/exposure.md §4.1.1: signed by a key we do not hold, while the From names someone whose key we do hold: not them.
  else if (expected !== undefined && checks.some((check) => check.status === 'unknown-key')) signature = 'signer-mismatch';
  else if (checks.length > 0) signature = 'unknown-key';
  else signature = 'unsigned';
  const relay = relayFacts as { route?: string; submittedBy?: string } | undefined;
  let fromClaim: SenderCheck['fromClaim'];
  if (relay?.route === 'internal' && relay.submittedBy !== undefined && relay.submittedBy.toLowerCase() !== fromAddress) fromClaim = { kind: 'not-submitter', address: fromAddress };
  // §6.8: a partly signed message is unsigned as a whole: a contact's block may be set among anyone's text.
  else if (expected !== undefined && (signature === 'unsigned' || signature === 'partly-signed')) fromClaim = { kind: 'contact-unproven', address: fromAddress };
  return { signature, senderKey, signerFingerprint: good?.signerFingerprint ?? checks[0]?.signerFingerprint ?? null, ...(fromClaim ? { fromClaim } : {}) };
}

export interface OpenedMessage {
  readonly message: StoredMessage;
  readonly body: string | null;
  readonly protectedHeaders: boolean;
  /** docs/decisions/post-quantum.md: the sender encrypted it with ML-KEM-768+X25519 only (absent when undecryptable). */
  readonly postQuantum?: boolean;
  readonly sender: SenderCheck;
  /** docs/message-payload.md §5: the attachments, with their bytes (empty when undecryptable). */
  readonly attachments: readonly AttachmentPart[];
  /** The headers inside the encryption (or of the sealed original), when readable. */
  readonly content: MailContent | null;
  /** docs/limits.md §3: why the message stays sealed, or null. */
  readonly sealed: OverLimitReason | null;
  /** docs/message-payload.md §4.5: the text (or signed text) had no charset over bytes that are not UTF-8: shown in this one, a guess. */
  readonly charsetGuess?: CharsetGuess;
}

/**
 * docs/message-payload.md §4.5, §7: the guess made for the text, for the signed text shown in its
 * place, or by the relay for the outer Subject or From it recorded (docs/gateway.md §3.8) when
 * that field is the one shown: the encrypted part (`content`, null when it cannot be read) has
 * none, as sync chose at arrival (src/service/mail-sync.ts).
 */
function guessOf(message: StoredMessage, content: MailContent | null, signed?: { readonly body: string; readonly charsetGuess?: CharsetGuess }): { charsetGuess?: CharsetGuess } {
  const guess = content?.charsetGuess ?? signed?.charsetGuess ?? outerGuessOf(message, content);
  return guess === undefined ? {} : { charsetGuess: guess };
}

function outerGuessOf(message: StoredMessage, content: MailContent | null): CharsetGuess | undefined {
  if (message.direction !== 'in') return undefined;
  const facts = message.relayFacts as { route?: unknown; outerHeaders?: { charsetGuess?: unknown; charsetDetected?: unknown } } | undefined;
  if (facts?.route !== 'smtp-inbound' || facts.outerHeaders === undefined) return undefined;
  const { charsetGuess, charsetDetected } = OuterHeadersSchema.shape;
  const parsed = facts.outerHeaders.charsetDetected !== undefined ? charsetDetected.safeParse(facts.outerHeaders.charsetDetected) : charsetGuess.safeParse(facts.outerHeaders.charsetGuess);
  if (!parsed.success || parsed.data === undefined) return undefined;
  const shown = parsed.data.fields.some((field) => (field === 'subject' && content?.subject === undefined) || (field === 'from' && content?.from === undefined));
  return shown ? parsed.data.charset : undefined;
}

/**
 * docs/message-payload.md §6.7: signed text of a flowed part (RFC 3676), as it is shown. The
 * literal data of an inline-signed block is all signed: unflowed. A clear-signed text's
 * blanks at the end of a line are not signed (RFC 9580 §7.2), so neither are its soft line
 * breaks: its lines are shown as signed, each a line, only the space-stuffing undone.
 */
function shownSignedText(text: string, signed: { readonly kind: 'inline' | 'cleartext'; readonly flowed?: { readonly delSp: boolean } }): string {
  if (signed.flowed === undefined) return text;
  return unflowText(signed.kind === 'cleartext' ? text.split('\n').map(withoutTrailingWhite).join('\n') : text, signed.flowed.delSp);
}

/**
 * docs/message-payload.md §6: the signatures a sender put around the content
 * (PGP/MIME multipart/signed, inline-signed, clear-signed), checked against the
 * keys we hold; an inline-signed or clear-signed block is replaced by its text.
 */
async function checkSignedContent(content: MailContent, verificationKeys: readonly openpgp.PublicKey[]): Promise<{ body: string; checks: SignatureCheck[]; partlySigned?: boolean; charsetGuess?: CharsetGuess }> {
  const signed = content.signed;
  if (signed === null) return { body: content.body, checks: [] };
  try {
    if (signed.kind === 'pgp-mime') {
      const result = await verifyData(signed.signedBytes, verificationKeys, signed.signature);
      return { body: content.body, checks: result.signatures };
    }
    // docs/message-payload.md §6.6: over the bytes of the part (another charset than UTF-8, flowed text), decoded for display only.
    const result = await verifyData(signed.octets ?? utf8.encode(signed.armored), verificationKeys);
    const decoded = await decodeTextLoadingDetector(result.data, signed.charset);
    // RFC 4880 §5.9: text-mode literal data carries CRLF; shown with LF like every other text.
    const text = shownSignedText(lf(decoded.text), signed);
    // docs/message-payload.md §6.5: the block may be held with its CRs; the body shows it with LF.
    // §6.8: text beside the block is not signed: the signed text marked, the message partly signed.
    const shown = withSignedText(content.body, lf(signed.armored), text);
    return { body: shown.body, checks: result.signatures, partlySigned: shown.partial, ...(decoded.guessed !== undefined ? { charsetGuess: decoded.guessed } : {}) };
  } catch (error) {
    if (!isCaliopError(error)) throw error;
    return { body: content.body, checks: [] }; // not a signed message after all (an encrypted block, or damaged): shown as it came
  }
}

/**
 * docs/store.md §5.2: a PGP/MIME signature inside a large message, checked now from the
 * digests recorded as its first part streamed (docs/message-payload.md §3.1): the checks
 * checkSignedContent gives the whole message.
 */
async function checkStreamedPgpMime(content: MailContent, signed: { signature: string; digests: readonly string[]; gnupgDigests?: readonly string[] | undefined }, verificationKeys: readonly openpgp.PublicKey[]): Promise<{ body: string; checks: SignatureCheck[] }> {
  try {
    return { body: content.body, checks: await verifyDetachedDigests(signed.signature, signed.digests, verificationKeys, signed.gnupgDigests) };
  } catch (error) {
    if (!isCaliopError(error)) throw error;
    return { body: content.body, checks: [] };
  }
}

/** Decrypts and judges one stored message against today's contacts. */
export async function openStoredMessage(session: StickSession, message: StoredMessage, verificationKeys: readonly openpgp.PublicKey[]): Promise<OpenedMessage> {
  const undecrypted = { message, body: null, protectedHeaders: false, sender: { signature: 'undecryptable', senderKey: 'unknown', signerFingerprint: null }, attachments: [], content: null } as const;
  // docs/limits.md §3: a message found over a limit is never decrypted again.
  if (message.sealed) return { ...undecrypted, sealed: message.sealed.reason, ...guessOf(message, null) };
  if (message.openedAtArrival) return openedAtArrival(session, message, message.openedAtArrival, verificationKeys);
  const identity = await session.identity();
  let result: Awaited<ReturnType<typeof decryptData>>;
  try {
    result = await decryptData(await ciphertextBytes(session.store, message), identity.privateKey, verificationKeys);
  } catch (error) {
    if (!isCaliopError(error)) throw error;
    return { ...undecrypted, sealed: isCaliopError(error, 'message_over_limit') ? overLimitReasonIn(error.message) : null, ...guessOf(message, null) };
  }
  let content: MailContent;
  try {
    content = await readMailContent(result.data);
  } catch (error) {
    if (!isCaliopError(error, 'message_over_limit')) throw error;
    return { ...undecrypted, sealed: overLimitReasonIn(error.message), ...guessOf(message, null) };
  }
  const signedContent = await checkSignedContent(content, verificationKeys);
  const from = bareAddress(content.from ?? message.from);
  return {
    message,
    body: signedContent.body,
    protectedHeaders: content.protectedHeaders,
    postQuantum: result.postQuantum,
    sender: judgeSender(session, from, [...result.signatures, ...signedContent.checks], message.direction === 'in' ? message.relayFacts : undefined, signedContent.partlySigned === true ? signedContent.checks : []),
    attachments: content.attachments,
    content,
    sealed: null,
    ...guessOf(message, content, signedContent),
  };
}

/**
 * docs/store.md §5.2: a large message received as a stream is read from what its arrival
 * kept (the header fields, the text, the signature checks made as it was decrypted), never
 * decrypted again: its attachments stay in their blobs. The sender is judged now, against
 * today's contacts; the signatures around the content (PGP/MIME from the digests recorded
 * at arrival, an inline-signed block in the text) are checked now, with today's keys.
 */
async function openedAtArrival(session: StickSession, message: StoredMessage, arrival: NonNullable<StoredMessage['openedAtArrival']>, verificationKeys: readonly openpgp.PublicKey[]): Promise<OpenedMessage> {
  if ('failed' in arrival) {
    return { message, body: null, protectedHeaders: false, sender: { signature: 'undecryptable', senderKey: 'unknown', signerFingerprint: null }, attachments: [], content: null, sealed: null, ...guessOf(message, null) };
  }
  const headers = arrival.headers as unknown as ArrivalHeaders;
  const content: MailContent = { ...headers, body: arrival.body, attachments: [], signed: arrival.inlineSigned === undefined ? null : loadedInlineBlock(arrival.inlineSigned) };
  const signedContent = arrival.pgpMimeSigned !== undefined ? await checkStreamedPgpMime(content, arrival.pgpMimeSigned, verificationKeys) : await checkSignedContent(content, verificationKeys);
  const from = bareAddress(content.from ?? message.from);
  const checks = arrival.signatures as unknown as SignatureCheck[];
  return {
    message,
    body: signedContent.body,
    protectedHeaders: content.protectedHeaders,
    sender: judgeSender(session, from, [...checks, ...signedContent.checks], message.direction === 'in' ? message.relayFacts : undefined, 'partlySigned' in signedContent && signedContent.partlySigned === true ? signedContent.checks : []),
    attachments: (message.attachmentBlobs ?? []).map(({ ref: _ref, ...listed }) => ({ ...listed, content: new Uint8Array(0) })),
    content: { ...content, body: signedContent.body },
    sealed: null,
    ...guessOf(message, content, signedContent),
  };
}

/** One stored message, whole (one object read from the stick). */
export function findMessage(session: StickSession, id: string): Promise<StoredMessage> {
  return session.store.get(id);
}

/**
 * `caliop delete ID`: removes a message from the store, sealed or not (docs/limits.md §3):
 * one journal record, then its objects (docs/store.md §6). The relay already forgot it at
 * sync (docs/vault-contents.md §5.2).
 */
export async function deleteMessage(session: StickSession, id: string): Promise<StoredMessage> {
  const message = await findMessage(session, id);
  await session.store.delete([id]);
  return message;
}

/** One journal record (docs/store.md §4), whatever the number of messages stored. */
export async function markRead(session: StickSession, id: string): Promise<void> {
  await session.store.setUnread(id, false);
}
