// `caliop read ID --save-attachments DIR [--attachment N] [--force]` and the
// interface's "save": the attachments of one message written into the folder the
// user named (docs/message-payload.md §5.2).
import { basename } from 'node:path';
import { mediaTypeFor, uniqueAttachmentNames } from '../core/attachment-name.js';
import type { StreamedAttachment } from '../core/message-payload.js';
import { CaliopError } from '../errors.js';
import { checkFolder, fileToSend, takenNames, writeAttachmentFile, type AttachmentSource } from '../edges/attachment-files.js';
import { verificationCerts } from './contacts.js';
import { findMessage, openStoredMessage } from './mail-read.js';
import type { StickSession } from './stick-session.js';

export interface SavedAttachment {
  readonly index: number;
  readonly name: string;
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export interface SaveOptions {
  readonly folder: string;
  /** 1-based; all of them when absent. */
  readonly index?: number;
  readonly force: boolean;
}

/** One attachment to write: its listing, and its bytes or the blob that streams them. */
type Saveable = { readonly index: number; readonly name: string; readonly type: string; readonly size: number; readonly sha256: string; readonly source: () => AttachmentSource };

/**
 * The attachments of a message, ready to write. A large message's were decoded once at
 * arrival and rest as blobs (docs/store.md §5.1): they stream from the stick to the
 * folder, one chunk in memory, without decrypting the message again.
 */
async function saveableAttachments(session: StickSession, id: string): Promise<Saveable[]> {
  const message = await findMessage(session, id);
  if (message.attachmentBlobs) {
    return message.attachmentBlobs.map((blob) => ({ ...blob, source: () => session.store.openBlob(blob.ref) }));
  }
  const opened = await openStoredMessage(session, message, await verificationCerts(session));
  if (opened.body === null) throw new CaliopError('no_decryption_key', `message ${id} could not be decrypted with your key; its attachments cannot be read`);
  return opened.attachments.map((attachment) => ({ ...attachment, source: () => attachment.content }));
}

/** `file_exists` when saving attachments: the names already in the folder (the interface names them when it asks to replace). */
export class AttachmentsExistError extends CaliopError {
  readonly names: readonly string[];

  constructor(names: readonly string[], folder: string) {
    super('file_exists', `${names.join(', ')} already exist${names.length === 1 ? 's' : ''} in ${folder}; nothing was written`);
    this.names = names;
  }
}

export async function saveAttachments(session: StickSession, id: string, options: SaveOptions): Promise<SavedAttachment[]> {
  const all = await saveableAttachments(session, id);
  const names = uniqueAttachmentNames(all);
  const chosen = options.index === undefined ? all : all.filter((attachment) => attachment.index === options.index);
  if (options.index !== undefined && chosen.length === 0) {
    throw new CaliopError('attachment_not_found', `message ${id} has ${all.length === 0 ? 'no attachments' : `attachments 1 to ${all.length}`}, not ${options.index}`);
  }
  await checkFolder(options.folder);
  if (!options.force) {
    const taken = await takenNames(options.folder, chosen.map((attachment) => names[attachment.index - 1]!));
    if (taken.length > 0) throw new AttachmentsExistError(taken, options.folder);
  }
  const saved: SavedAttachment[] = [];
  for (const attachment of chosen) {
    const name = names[attachment.index - 1]!;
    const path = await writeAttachmentFile(options.folder, name, attachment.source(), options.force);
    saved.push({ index: attachment.index, name, path, size: attachment.size, sha256: attachment.sha256 });
  }
  return saved;
}

/**
 * `caliop send --attach FILE…` and the compose screen: the files the user named, checked
 * readable now and read as streams when the message is built (issue 9: never whole).
 */
export async function readAttachmentsToSend(paths: readonly string[]): Promise<StreamedAttachment[]> {
  const attachments: StreamedAttachment[] = [];
  for (const path of paths) {
    const name = basename(path);
    attachments.push({ name, type: mediaTypeFor(name), ...(await fileToSend(path)) });
  }
  return attachments;
}
