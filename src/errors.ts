// The one error table of Caliop Key (normative list: docs/cli.md §Exit codes).
//
// Every failure the CLI, the UI or the relay client can report is one row here:
// a stable code, a stable exit code, a message and a hint. Codes and exit codes
// are never renumbered; a new failure class gets a new row. Library code throws
// CaliopError and never prints or exits: only the faces (CLI, UI) format it.

export interface ErrorSpec {
  /** Process exit code, stable forever (docs/cli.md §Exit codes). */
  readonly exit: number;
  /** What happened, in the user's words. A CaliopError may give a more precise detail. */
  readonly message: string;
  /** What to do about it. */
  readonly hint: string;
}

export const ERROR_TABLE = {
  // 1-2: generic
  internal: { exit: 1, message: 'an unexpected internal error occurred', hint: 'run the command again with --debug and report what it prints' },
  usage: { exit: 2, message: 'the command line is not valid', hint: 'run "caliop help COMMAND" to see its options' },

  // 3-9: the stick and its vault
  stick_not_found: { exit: 3, message: 'no Caliop stick was found', hint: 'pass --stick DIR (the mounted stick) or set CALIOP_STICK' },
  stick_not_initialised: { exit: 4, message: 'this stick holds no vault yet', hint: 'run "caliop init" to create your keys, or "caliop recover" to restore them' },
  stick_already_initialised: { exit: 5, message: 'this stick already holds a vault', hint: 'use another stick, or move the vault away first if you really mean to replace it' },
  wrong_passphrase: { exit: 6, message: 'wrong passphrase', hint: 'type it again; nothing was changed and there is no limit on attempts' },
  vault_tampered: { exit: 7, message: 'the vault failed its integrity check', hint: 'the file was damaged or modified; restore it from your recovery phrase with "caliop recover" on an empty stick' },
  vault_truncated: { exit: 8, message: 'the vault file is truncated', hint: 'the file is incomplete; restore it from your recovery phrase with "caliop recover" on an empty stick' },
  vault_unsupported_version: { exit: 9, message: 'the vault was written by an unknown version of Caliop Key', hint: 'run the caliop that came with this stick, or a newer one' },

  // 10-23: ceremony, keys and OpenPGP data
  online_refused: { exit: 10, message: 'refusing to generate keys while this machine is online', hint: 'disconnect from every network (cable and Wi-Fi) and run it again, or pass --allow-online if you accept the risk' },
  confirmation_required: { exit: 11, message: 'this needs a confirmation that --batch cannot give', hint: 'run it without --batch, or pass the flag that confirms it explicitly' },
  binary_to_terminal: { exit: 12, message: 'refusing to write binary data to the terminal', hint: 'redirect the output to a file (> FILE), or drop --binary to get ASCII armor' },
  bad_input: { exit: 13, message: 'the input is not valid OpenPGP data', hint: 'check that you passed the whole message or certificate, armored or binary' },
  no_decryption_key: { exit: 14, message: 'this message was not encrypted to your key', hint: 'ask the sender to encrypt it to your certificate ("caliop key export")' },
  bad_signature: { exit: 15, message: 'the signature is not valid', hint: 'the data was modified or was not signed by the key it claims; do not trust it' },
  no_signature: { exit: 16, message: 'no valid signature from a known key was found', hint: 'import the signer\'s certificate with "caliop contacts import", or ask for a signed message' },
  unknown_recipient: { exit: 17, message: 'no certificate is known for this recipient', hint: 'import it with "caliop contacts import < CERT", or give its fingerprint' },
  contact_key_changed: { exit: 18, message: 'the certificate of a known contact has changed', hint: 'check the new fingerprint with your contact in person, then "caliop contacts verify ADDR --fingerprint FPR"' },
  recovery_invalid: { exit: 19, message: 'the recovery sheet could not be read', hint: 'check every word and the creation date against the sheet; with shares, give at least the threshold number of distinct shares' },
  backup_check_failed: { exit: 20, message: 'the words you entered do not match the recovery phrase', hint: 'look at the sheet again; the ceremony was not finished and nothing was written' },
  passphrase_rejected: { exit: 21, message: 'the passphrase was not accepted', hint: 'choose a longer passphrase, or let caliop generate one' },
  file_unreadable: { exit: 22, message: 'a file could not be read', hint: 'check the path and its permissions' },
  file_exists: { exit: 24, message: 'a file of that name already exists', hint: 'choose another folder, or pass --force to replace it' },
  folder_unwritable: { exit: 25, message: 'the folder could not be written to', hint: 'check that the folder exists and that you may write in it' },
  stick_write_failed: { exit: 23, message: 'writing to the stick failed', hint: 'check that the stick is still plugged in, not full and not write-protected; the previous state was kept' },
  unsupported_algorithm: { exit: 26, message: 'unsupported algorithm', hint: 'ask the sender to use AES and a current key (every OpenPGP program defaults to them)' },
  recipient_cert_unusable: { exit: 27, message: "the recipient's certificate cannot be used for encryption", hint: 'ask the recipient for a current certificate and import it with "caliop contacts import"' },
  cert_refused: { exit: 28, message: 'the certificate was refused: one of its signatures does not verify', hint: 'it was damaged or modified; get it again from its owner. Nothing was imported' },

  // 30-39: the relay and the narrow API
  relay_unreachable: { exit: 30, message: 'the relay could not be reached', hint: 'check the network; messages you send wait in the outbox until "caliop sync"' },
  relay_pin_mismatch: { exit: 31, message: "the relay's certificate does not match the pin on this stick", hint: 'someone may be intercepting the connection; do not go on, and ask your Caliop volunteer' },
  relay_refused: { exit: 32, message: 'the relay refused the request', hint: 'check that this stick is enrolled with this relay' },
  relay_bad_request: { exit: 33, message: 'the relay rejected the request as malformed', hint: 'this is a bug in caliop or the relay; report it with --debug output' },
  relay_too_large: { exit: 34, message: 'the message is larger than the relay accepts', hint: 'send smaller attachments or split the message' },
  relay_rate_limited: { exit: 35, message: 'the relay asks to slow down', hint: 'wait a minute and run it again' },
  relay_not_configured: { exit: 36, message: 'this stick is not connected to a relay', hint: 'give the relay with "caliop init --server URL", or in the stick\'s config.json' },
  enrolment_failed: { exit: 37, message: 'the relay did not accept the enrolment', hint: 'check the address and the invite token' },
  message_not_found: { exit: 38, message: 'no such message', hint: 'run "caliop inbox" to see the message ids' },
  attachment_not_found: { exit: 39, message: 'this message has no such attachment', hint: 'run "caliop read ID --json" to see the attachment numbers' },
  message_refused: { exit: 43, message: 'the message was refused for good', hint: 'read the reason; the message stays in the outbox as failed: "caliop outbox retry ID" or "caliop outbox drop ID"' },
  outbox_message_failed: { exit: 42, message: 'a message in the outbox could not be sent', hint: 'see the reason with "caliop outbox"; fix it and "caliop outbox retry ID", or "caliop outbox drop ID"' },
  message_over_limit: { exit: 44, message: 'this message is over a limit and stays sealed', hint: 'it cannot be opened safely; remove it with "caliop delete ID" (docs/limits.md)' },

  // 40-49: exposure and the gateway
  exposed_send_refused: { exit: 40, message: 'this message would leave Caliop readable', hint: 'import the recipient\'s certificate, or pass --allow-exposed if they may read it in the clear' },
  exposure_facts_invalid: { exit: 41, message: 'the facts about a message are not valid', hint: 'this is a bug in caliop or the relay; report it with --debug output' },

  // 50-59: the stick image, its manifest and the flashing station
  manifest_invalid: { exit: 50, message: 'the stick manifest or its signature is not valid', hint: 'this stick may have been modified; get a fresh one from a Caliop volunteer' },
  stick_modified: { exit: 51, message: 'files on the stick differ from its signed manifest', hint: 'this stick may have been modified; get a fresh one from a Caliop volunteer' },
  flash_target_refused: { exit: 52, message: 'refusing to write to this drive', hint: 'name a removable USB drive; system and non-removable drives are never written' },
  flash_failed: { exit: 53, message: 'writing the image failed', hint: 'try another stick; the other sticks were not affected' },
  flash_verify_failed: { exit: 54, message: 'the stick did not read back what was written', hint: 'the stick is faulty; set it aside' },
  stick_self_verified_only: { exit: 55, message: 'the stick agrees with itself, but nothing outside it vouches for it: someone who rewrote the whole stick would pass this check too', hint: 'check it against the project\'s release certificate: "caliop stick verify --release-cert FILE", or with a caliop you trust' },

  // 80-89: the flashing station (src/flash/)
  flash_linux_only: { exit: 80, message: 'the flashing station runs on Linux only', hint: 'run it on a Linux machine (a live USB system is fine) as root' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_TABLE;

/** The only error type library code throws on purpose. */
export class CaliopError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;

  constructor(code: ErrorCode, detail?: string, options: { hint?: string; cause?: unknown } = {}) {
    super(detail ?? ERROR_TABLE[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CaliopError';
    this.code = code;
    this.hint = options.hint ?? ERROR_TABLE[code].hint;
  }

  get exitCode(): number {
    return ERROR_TABLE[this.code].exit;
  }
}

export function isCaliopError(value: unknown, code?: ErrorCode): value is CaliopError {
  return value instanceof CaliopError && (code === undefined || value.code === code);
}
