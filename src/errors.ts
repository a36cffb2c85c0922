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
  /**
   * The hint in the English interface, where `hint` names commands, flags or files that a
   * person at the full-screen interface never types (docs/ui.md §7): plain words instead.
   * Absent: `hint` is plain already (test/ui/error-texts checks every row with COMMAND_LINE_WORDS).
   */
  readonly ui?: string;
  /** The same two texts in French, for the interface (docs/ui.md §8 glossary). The CLI stays English. */
  readonly fr: { readonly message: string; readonly hint: string };
}

/**
 * Words of the command line: flags, commands typed at a shell, environment variables, files
 * of the stick or of docs/. The full-screen interface never shows them in a hint (docs/ui.md §7):
 * a row whose `hint` has them carries `ui`, its plain English for the interface.
 */
export const COMMAND_LINE_WORDS = /--[a-z]|"caliop |«\s*caliop |\bcaliop [a-z]|CALIOP_|config\.json|docs\/|> FILE/;

export const ERROR_TABLE = {
  // 1-2: generic
  internal: { exit: 1, message: 'an unexpected internal error occurred', hint: 'run the command again with --debug and report what it prints', ui: "try again; if it happens again, show this screen to your Caliop volunteer", fr: { message: "une erreur inattendue s’est produite dans Caliop", hint: "recommencez ; si cela revient, montrez cet écran à votre bénévole Caliop" } },
  usage: { exit: 2, message: 'the command line is not valid', hint: 'run "caliop help COMMAND" to see its options', ui: "go back and try again; if it happens again, show this screen to your Caliop volunteer", fr: { message: "la commande n’est pas valable", hint: "revenez en arrière et recommencez ; si cela revient, montrez cet écran à votre bénévole Caliop" } },

  // 3-9: the stick and its vault
  stick_not_found: { exit: 3, message: 'no Caliop stick was found', hint: 'pass --stick DIR (the mounted stick) or set CALIOP_STICK', ui: "check that the stick is plugged in, then give its folder", fr: { message: "aucune clé USB Caliop n’a été trouvée", hint: "vérifiez que la clé USB est bien branchée, puis indiquez son dossier" } },
  stick_not_initialised: { exit: 4, message: 'this stick holds no vault yet', hint: 'run "caliop init" to create your keys, or "caliop recover" to restore them', ui: "make your keys, or restore them from your recovery sheet", fr: { message: "cette clé USB ne contient pas encore de coffre", hint: "fabriquez vos clés, ou restaurez-les avec votre feuille de récupération" } },
  stick_already_initialised: { exit: 5, message: 'this stick already holds a vault', hint: 'use another stick, or move the vault away first if you really mean to replace it', fr: { message: "cette clé USB contient déjà un coffre", hint: "prenez une autre clé USB ; rien n’a été effacé" } },
  wrong_passphrase: { exit: 6, message: 'wrong passphrase', hint: 'type it again; nothing was changed and there is no limit on attempts', fr: { message: "phrase de passe incorrecte", hint: "tapez-la à nouveau ; rien n’a changé et le nombre d’essais n’est pas limité" } },
  vault_tampered: { exit: 7, message: 'the vault failed its integrity check', hint: 'the file was damaged or modified; restore it from your recovery phrase with "caliop recover" on an empty stick', ui: "the file was damaged or modified; restore it from your recovery sheet on an empty stick", fr: { message: "le coffre n’a pas passé le contrôle d’intégrité", hint: "le fichier a été abîmé ou modifié ; restaurez-le avec votre feuille de récupération sur une clé USB vide" } },
  vault_truncated: { exit: 8, message: 'the vault file is truncated', hint: 'the file is incomplete; restore it from your recovery phrase with "caliop recover" on an empty stick', ui: "the file is incomplete; restore it from your recovery sheet on an empty stick", fr: { message: "le fichier du coffre est incomplet", hint: "restaurez-le avec votre feuille de récupération sur une clé USB vide" } },
  vault_unsupported_version: { exit: 9, message: 'the vault was written by an unknown version of Caliop Key', hint: 'run the caliop that came with this stick, or a newer one', ui: "start the Caliop that came with this stick, or a newer one", fr: { message: "le coffre a été écrit par une version inconnue de Caliop Key", hint: "lancez le Caliop livré avec cette clé USB, ou une version plus récente" } },

  // 10-23: ceremony, keys and OpenPGP data
  online_refused: { exit: 10, message: 'refusing to generate keys while this machine is online', hint: 'disconnect from every network (cable and Wi-Fi) and run it again, or pass --allow-online if you accept the risk', ui: "unplug the network cable and turn off Wi-Fi, then try again", fr: { message: "les clés ne sont pas fabriquées tant que cet ordinateur est en ligne", hint: "débranchez le câble et coupez le Wi-Fi, puis recommencez" } },
  confirmation_required: { exit: 11, message: 'this needs a confirmation that --batch cannot give', hint: 'run it without --batch, or pass the flag that confirms it explicitly', ui: "try again and confirm when you are asked", fr: { message: "cette action demande votre confirmation", hint: "recommencez et confirmez quand on vous le demande" } },
  binary_to_terminal: { exit: 12, message: 'refusing to write binary data to the terminal', hint: 'redirect the output to a file (> FILE), or drop --binary to get ASCII armor', ui: "save the result to a file", fr: { message: "des données binaires ne peuvent pas s’afficher à l’écran", hint: "enregistrez le résultat dans un fichier" } },
  bad_input: { exit: 13, message: 'the input is not valid OpenPGP data', hint: 'check that you passed the whole message or certificate, armored or binary', fr: { message: "ce ne sont pas des données OpenPGP valables", hint: "vérifiez que vous avez fourni le message ou le certificat en entier" } },
  no_decryption_key: { exit: 14, message: 'this message was not encrypted to your key', hint: 'ask the sender to encrypt it to your certificate ("caliop key export")', ui: "ask the sender to encrypt it with your certificate", fr: { message: "ce message n’a pas été chiffré pour votre clé", hint: "demandez à l’expéditeur de le chiffrer avec votre certificat" } },
  bad_signature: { exit: 15, message: 'the signature is not valid', hint: 'the data was modified or was not signed by the key it claims; do not trust it', fr: { message: "la signature n’est pas valable", hint: "les données ont été modifiées ou ne viennent pas de la clé annoncée ; ne vous y fiez pas" } },
  no_signature: { exit: 16, message: 'no valid signature from a known key was found', hint: 'import the signer\'s certificate with "caliop contacts import", or ask for a signed message', ui: "add the sender's certificate to your contacts, or ask them for a signed message", fr: { message: "aucune signature valable d’une clé connue n’a été trouvée", hint: "importez le certificat de l’expéditeur, ou demandez-lui un message signé" } },
  unknown_recipient: { exit: 17, message: 'no certificate is known for this recipient', hint: 'import it with "caliop contacts import < CERT", or give its fingerprint', ui: "add their certificate to your contacts, or give its fingerprint", fr: { message: "aucun certificat n’est connu pour ce destinataire", hint: "importez son certificat dans vos contacts, ou donnez son empreinte" } },
  contact_key_changed: { exit: 18, message: 'the certificate of a known contact has changed', hint: 'compare the new fingerprint words with your contact in person, then "caliop contacts verify ADDR --words \'W1 … W8\'" (or "caliop contacts accept ADDR" without meeting)', ui: "check the new fingerprint words with this contact, in person, before writing to them", fr: { message: "le certificat d’un contact connu a changé", hint: "vérifiez la nouvelle empreinte avec ce contact, en personne, avant de lui écrire" } },
  recovery_invalid: { exit: 19, message: 'the recovery sheet could not be read', hint: 'check every word and the creation date against the sheet; with shares, give at least the threshold number of distinct shares', fr: { message: "la feuille de récupération n’a pas pu être lue", hint: "vérifiez chaque mot et la date de création ; avec des parts, donnez au moins le nombre de parts différentes demandé" } },
  backup_check_failed: { exit: 20, message: 'the words you entered do not match the recovery phrase', hint: 'look at the sheet again; the ceremony was not finished and nothing was written', fr: { message: "les mots tapés ne correspondent pas à la phrase de récupération", hint: "relisez la feuille ; rien n’a été écrit et la fabrication n’est pas terminée" } },
  passphrase_rejected: { exit: 21, message: 'the passphrase was not accepted', hint: 'choose a longer passphrase, or let caliop generate one', ui: "choose a longer passphrase, or let Caliop suggest one", fr: { message: "la phrase de passe n’a pas été acceptée", hint: "choisissez une phrase de passe plus longue, ou laissez Caliop en proposer une" } },
  file_unreadable: { exit: 22, message: 'a file could not be read', hint: 'check the path and its permissions', fr: { message: "un fichier n’a pas pu être lu", hint: "vérifiez le chemin et les droits d’accès" } },
  file_exists: { exit: 24, message: 'a file of that name already exists', hint: 'choose another folder, or pass --force to replace it', ui: "choose another folder; the file already there was not touched", fr: { message: "un fichier de ce nom existe déjà", hint: "choisissez un autre dossier ; le fichier existant n’a pas été touché" } },
  folder_unwritable: { exit: 25, message: 'the folder could not be written to', hint: 'check that the folder exists and that you may write in it', fr: { message: "impossible d’écrire dans ce dossier", hint: "vérifiez que le dossier existe et que vous avez le droit d’y écrire" } },
  stick_write_failed: { exit: 23, message: 'writing to the stick failed', hint: 'check that the stick is still plugged in, not full and not write-protected; the previous state was kept', fr: { message: "l’écriture sur la clé USB a échoué", hint: "vérifiez que la clé USB est branchée, pas pleine et pas protégée en écriture ; l’état précédent a été gardé" } },
  unsupported_algorithm: { exit: 26, message: 'unsupported algorithm', hint: 'ask the sender to use AES and a current key (every OpenPGP program defaults to them)', fr: { message: "algorithme non pris en charge", hint: "demandez à l’expéditeur d’utiliser AES et une clé récente (c’est le réglage par défaut partout)" } },
  recipient_cert_unusable: { exit: 27, message: "the recipient's certificate cannot be used for encryption", hint: 'ask the recipient for a current certificate and import it with "caliop contacts import"', ui: "ask them for a current certificate and add it to your contacts", fr: { message: "le certificat du destinataire ne permet pas de chiffrer", hint: "demandez-lui un certificat à jour et importez-le dans vos contacts" } },
  cert_refused: { exit: 28, message: 'the certificate was refused: one of its signatures does not verify', hint: 'it was damaged or modified; get it again from its owner. Nothing was imported', fr: { message: "le certificat a été refusé : une de ses signatures n’est pas valable", hint: "il a été abîmé ou modifié ; demandez-le à nouveau à son propriétaire. Rien n’a été importé" } },
  published_cert_refused: { exit: 29, message: "the certificate published for a recipient was refused: one of its signatures does not verify, or it does not name the address", hint: 'someone may have changed it on the way or on the server; nothing was sent. Get the certificate from its owner and "caliop contacts import" it', ui: "someone may have changed it on the way or where it is published; nothing was sent. Ask its owner for the certificate and add it to your contacts", fr: { message: "le certificat publié pour un destinataire a été refusé : une de ses signatures n’est pas valable, ou il ne porte pas son adresse", hint: "quelqu’un l’a peut-être modifié en route ou là où il est publié ; rien n’a été envoyé. Demandez le certificat à son propriétaire et importez-le dans vos contacts" } },

  // 30-39: the relay and the narrow API
  relay_unreachable: { exit: 30, message: 'the relay could not be reached', hint: 'check the network; messages you send wait in the outbox until "caliop sync"', ui: "check the network; the messages you send wait in the outbox", fr: { message: "le relais est injoignable", hint: "vérifiez le réseau ; les messages envoyés attendent dans la boîte d’envoi" } },
  relay_pin_mismatch: { exit: 31, message: "the relay's certificate does not match the pin on this stick", hint: 'someone may be intercepting the connection; do not go on, and ask your Caliop volunteer', fr: { message: "le certificat du relais ne correspond pas à celui enregistré sur cette clé USB", hint: "quelqu’un intercepte peut-être la connexion ; n’allez pas plus loin et prévenez votre bénévole Caliop" } },
  relay_refused: { exit: 32, message: 'the relay refused the request', hint: 'check that this stick is enrolled with this relay', fr: { message: "le relais a refusé la demande", hint: "vérifiez que cette clé USB est bien inscrite auprès de ce relais" } },
  relay_bad_request: { exit: 33, message: 'the relay rejected the request as malformed', hint: 'this is a bug in caliop or the relay; report it with --debug output', ui: "this is a fault in Caliop or the relay; tell your Caliop volunteer", fr: { message: "le relais a rejeté la demande comme mal formée", hint: "c’est un défaut de Caliop ou du relais ; prévenez votre bénévole Caliop" } },
  relay_too_large: { exit: 34, message: 'the message is larger than the relay accepts', hint: 'send smaller attachments or split the message', fr: { message: "le message dépasse la taille acceptée par le relais", hint: "envoyez des pièces jointes plus petites ou coupez le message en plusieurs" } },
  relay_rate_limited: { exit: 35, message: 'the relay asks to slow down', hint: 'wait a minute and run it again', fr: { message: "le relais demande de ralentir", hint: "attendez une minute puis recommencez" } },
  relay_not_configured: { exit: 36, message: 'this stick is not connected to a relay', hint: 'give the relay with "caliop init --server URL", or in the stick\'s config.json', ui: "give the relay's address in the settings", fr: { message: "cette clé USB n’est reliée à aucun relais", hint: "indiquez l’adresse du relais dans les réglages" } },
  enrolment_failed: { exit: 37, message: 'the relay did not accept the enrolment', hint: 'check the address and the invite token', fr: { message: "le relais n’a pas accepté l’inscription", hint: "vérifiez l’adresse et le code d’invitation" } },
  message_not_found: { exit: 38, message: 'no such message', hint: 'run "caliop inbox" to see the message ids', ui: "go back to the inbox to see the messages", fr: { message: "ce message n’existe pas", hint: "revenez à la boîte de réception pour voir les messages" } },
  attachment_not_found: { exit: 39, message: 'this message has no such attachment', hint: 'run "caliop read ID --json" to see the attachment numbers', ui: "open the message to see its attachments", fr: { message: "ce message n’a pas cette pièce jointe", hint: "ouvrez le message pour voir ses pièces jointes" } },
  message_refused: { exit: 43, message: 'the message was refused for good', hint: 'read the reason; the message stays in the outbox as failed: "caliop outbox retry ID" or "caliop outbox drop ID"', ui: "read the reason; the message stays in the outbox, where you can send it again or delete it", fr: { message: "le message a été refusé définitivement", hint: "lisez la raison ; le message reste dans la boîte d’envoi, où vous pouvez le renvoyer ou le supprimer" } },
  outbox_message_failed: { exit: 42, message: 'a message in the outbox could not be sent', hint: 'see the reason with "caliop outbox"; fix it and "caliop outbox retry ID", or "caliop outbox drop ID"', ui: "see the reason in the outbox, fix it, then send the message again or delete it", fr: { message: "un message de la boîte d’envoi n’a pas pu partir", hint: "voyez la raison dans la boîte d’envoi, corrigez-la, puis renvoyez ou supprimez le message" } },
  message_over_limit: { exit: 44, message: 'this message is over a limit and stays sealed', hint: 'it cannot be opened safely; remove it with "caliop delete ID" (docs/limits.md)', ui: "it cannot be opened safely; delete it", fr: { message: "ce message dépasse une limite et reste fermé", hint: "il ne peut pas être ouvert sans risque ; supprimez-le" } },
  too_large_for_terminal: { exit: 45, message: 'the decrypted message is too large to show on the terminal before its integrity is checked; nothing was shown', hint: 'write it to a file: caliop decrypt --output FILE (or redirect it: > FILE)', ui: "save it to a file", fr: { message: "le message déchiffré est trop long pour s’afficher avant d’avoir été vérifié ; rien n’a été affiché", hint: "enregistrez-le dans un fichier" } },
  relay_session_failed: { exit: 46, message: "the relay did not accept this stick's session", hint: 'run it again; if it comes back, someone may be tampering with the connection: ask your Caliop volunteer', fr: { message: "le relais n’a pas accepté la session de cette clé USB", hint: "recommencez ; si cela revient, quelqu’un trafique peut-être la connexion : prévenez votre bénévole Caliop" } },
  input_too_large: { exit: 47, message: 'the input is larger than caliop reads whole', hint: 'caliop encrypt, decrypt and sign stream data of any size (docs/limits.md §5)', ui: "Caliop handles data of any size as it streams; ask your Caliop volunteer", fr: { message: "l’entrée dépasse ce que Caliop lit d’un seul tenant", hint: "Caliop traite des données de toute taille au fil de l’eau ; demandez à votre bénévole Caliop" } },
  output_closed: { exit: 48, message: 'the program reading the output closed it before the end (a broken pipe)', hint: 'the rest was not written; read the whole output, or write it to a file with --output FILE', ui: 'the rest was not written', fr: { message: "le programme qui lisait la sortie l’a fermée avant la fin (tube rompu)", hint: "la suite n’a pas été écrite" } },

  // 40-49: exposure and the gateway
  exposed_send_refused: { exit: 40, message: 'this message would leave Caliop readable', hint: 'import the recipient\'s certificate, or pass --allow-exposed if they may read it in the clear', ui: "add the recipient's certificate, or accept that they read it in the clear", fr: { message: "ce message quitterait Caliop lisible par d’autres", hint: "importez le certificat du destinataire, ou acceptez qu’il soit lu en clair" } },
  exposure_facts_invalid: { exit: 41, message: 'the facts about a message are not valid', hint: 'this is a bug in caliop or the relay; report it with --debug output', ui: "this is a fault in Caliop or the relay; tell your Caliop volunteer", fr: { message: "les informations sur ce message ne sont pas valables", hint: "c’est un défaut de Caliop ou du relais ; prévenez votre bénévole Caliop" } },

  // 50-59: the stick image, its manifest and the flashing station
  manifest_invalid: { exit: 50, message: 'the stick manifest or its signature is not valid', hint: 'this stick may have been modified; get a fresh one from a Caliop volunteer', fr: { message: "la liste signée de la clé USB ou sa signature n’est pas valable", hint: "cette clé USB a peut-être été modifiée ; demandez-en une neuve à un bénévole Caliop" } },
  stick_modified: { exit: 51, message: 'files on the stick differ from its signed manifest', hint: 'this stick may have been modified; get a fresh one from a Caliop volunteer', fr: { message: "des fichiers de la clé USB ne correspondent pas à sa liste signée", hint: "cette clé USB a peut-être été modifiée ; demandez-en une neuve à un bénévole Caliop" } },
  flash_target_refused: { exit: 52, message: 'refusing to write to this drive', hint: 'name a removable USB drive; system and non-removable drives are never written', fr: { message: "écriture refusée sur ce support", hint: "choisissez une clé USB amovible ; les disques du système ne sont jamais écrits" } },
  flash_failed: { exit: 53, message: 'writing the image failed', hint: 'try another stick; the other sticks were not affected', fr: { message: "l’écriture de l’image a échoué", hint: "essayez une autre clé USB ; les autres n’ont pas été touchées" } },
  flash_verify_failed: { exit: 54, message: 'the stick did not read back what was written', hint: 'the stick is faulty; set it aside', fr: { message: "la clé USB ne relit pas ce qui a été écrit", hint: "cette clé USB est défectueuse ; mettez-la de côté" } },
  stick_self_verified_only: { exit: 55, message: 'the stick agrees with itself, but nothing outside it vouches for it: someone who rewrote the whole stick would pass this check too', hint: 'check it against the project\'s release certificate: "caliop stick verify --release-cert FILE", or with a caliop you trust', ui: "check it with the project's release certificate, or with a Caliop you trust", fr: { message: "la clé USB est cohérente avec elle-même, mais rien d’extérieur ne s’en porte garant : une clé USB entièrement réécrite passerait aussi ce contrôle", hint: "vérifiez-la avec le certificat de publication du projet, ou avec un Caliop de confiance" } },
  relay_publishes_no_fingerprint: { exit: 56, message: 'the relay publishes no release fingerprint', hint: 'ask its operator to start caliop-relay with --release-fingerprint FPR; or check with "caliop stick verify --release-cert FILE"', ui: "ask the relay's operator to publish the release certificate's fingerprint, or check the stick with the project's release certificate", fr: { message: "le relais ne publie aucune empreinte de certificat de publication", hint: "demandez à son opérateur de publier l’empreinte du certificat de publication ; ou vérifiez la clé USB avec le certificat de publication du projet" } },

  // 60-69: devices, renewal and revocation (docs/lost-stick.md)
  device_revoked: { exit: 60, message: 'this stick was revoked as a device of your account', hint: 'use another stick of yours; a stick found again can be remade with "caliop recover" and enrolled as a new device', ui: "use another of your sticks; a stick found again can be remade from the recovery sheet", fr: { message: "cette clé USB a été retirée de votre compte", hint: "utilisez une autre de vos clés USB ; une clé USB retrouvée peut être refaite depuis la feuille de récupération" } },
  device_not_found: { exit: 61, message: 'your account has no device of that name', hint: 'run "caliop devices" to see the names', ui: "look at the list of your sticks to see their names", fr: { message: "votre compte n’a pas d’appareil de ce nom", hint: "affichez la liste de vos clés USB pour voir leurs noms" } },
  device_revoke_refused: { exit: 62, message: 'this device cannot be revoked from here', hint: 'a stick cannot revoke itself, and a revoked one stays revoked; revoke it from another of your sticks', fr: { message: "cet appareil ne peut pas être retiré d’ici", hint: "une clé USB ne peut pas se retirer elle-même ; faites-le depuis une autre de vos clés USB" } },
  device_name_taken: { exit: 63, message: 'your account already has a device of that name', hint: 'pass another --device-name, or leave it out and the relay names it stick-N', ui: "choose another name", fr: { message: "votre compte a déjà un appareil de ce nom", hint: "choisissez un autre nom" } },
  key_expired: { exit: 64, message: 'your key has expired', hint: 'renew it with "caliop key renew" (your contacts keep the same key, with the new date)', ui: "renew it; your contacts keep the same key, with the new date", fr: { message: "votre clé a expiré", hint: "renouvelez-la ; vos contacts gardent la même clé, avec la nouvelle date" } },
  contact_key_revoked: { exit: 65, message: "this contact's key was revoked by its owner", hint: 'nothing was sent; ask your contact for their new key and check its fingerprint in person', fr: { message: "la clé de ce contact a été révoquée par son propriétaire", hint: "rien n’a été envoyé ; demandez-lui sa nouvelle clé et vérifiez son empreinte en personne" } },
  key_revoked: { exit: 66, message: 'your key is revoked', hint: 'a revoked key stays revoked; make a new key with "caliop init" on a new stick (docs/lost-stick.md §3)', ui: "a revoked key stays revoked; make a new key on a new stick", fr: { message: "votre clé est révoquée", hint: "une clé révoquée le reste ; fabriquez une nouvelle clé sur une nouvelle clé USB" } },
  no_key_change: { exit: 67, message: "this contact's key has not changed", hint: 'there is nothing to accept; "caliop contacts list" shows the keys that changed', ui: "there is nothing to accept; the contacts list shows the keys that changed", fr: { message: "la clé de ce contact n’a pas changé", hint: "il n’y a rien à accepter ; la liste des contacts montre les clés qui ont changé" } },

  // 70-79: the stick shared between processes (docs/store.md §10)
  stick_in_use: { exit: 70, message: 'the stick is in use by another caliop', hint: 'let it finish, or close it (the Caliop window, or the command in another terminal), then run this again; a caliop that was killed, or a stick last used in another computer, does not count', ui: "let it finish, or close it (the other Caliop window, or the command in another terminal), then try again", fr: { message: "la clé USB est déjà ouverte par un autre Caliop", hint: "laissez-le finir, ou fermez-le (l’autre fenêtre Caliop, ou la commande dans un autre terminal), puis recommencez" } },

  // 80-89: the flashing station (src/flash/)
  flash_linux_only: { exit: 80, message: 'the flashing station runs on Linux only', hint: 'run it on a Linux machine (a live USB system is fine) as root', fr: { message: "la station de gravure ne fonctionne que sous Linux", hint: "lancez-la sur un ordinateur Linux (un système sur clé USB convient), en administrateur" } },
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
