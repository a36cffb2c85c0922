// The words of the interception-risk index, in English and French (docs/exposure.md §3, §8).
//
// Plain, short sentences in the user's words. Every level and every reason code has
// both languages (the compiler checks the keys; test/exposure-text.test.ts checks the
// texts are non-empty and use the same {placeholders}). Pure: no I/O.

import type { ExposureLevel, ReasonCode } from './exposure.js';

export const LANGUAGES = ['en', 'fr'] as const;
export type Language = (typeof LANGUAGES)[number];

/** docs/exposure.md §3: the short name of each level. */
export const LEVEL_NAMES: Readonly<Record<Language, Readonly<Record<ExposureLevel, string>>>> = {
  en: {
    'e2e-verified': 'End to end, verified key',
    'e2e-tofu': 'End to end, unverified key',
    'pgp-external': 'Encrypted (OpenPGP)',
    'tls-only': 'Readable by mail servers',
    cleartext: 'Readable on the network',
    alarm: 'ALARM: do not trust',
  },
  fr: {
    'e2e-verified': 'De bout en bout, clé vérifiée',
    'e2e-tofu': 'De bout en bout, clé non vérifiée',
    'pgp-external': 'Chiffré (OpenPGP)',
    'tls-only': 'Lisible par les serveurs',
    cleartext: 'Lisible sur le réseau',
    alarm: 'ALERTE : ne pas s\'y fier',
  },
};

/** docs/exposure.md §4: one sentence per reason code. {name} is replaced by the reason's params. */
export const REASON_TEXTS: Readonly<Record<Language, Readonly<Record<ReasonCode, string>>>> = {
  en: {
    'payload-encrypted': 'The message itself is encrypted to your key: only your stick can open it.',
    'payload-encrypted-pq': 'It is encrypted with post-quantum protection (ML-KEM-768 with X25519): a future quantum computer could not open a copy kept today.',
    'payload-not-encrypted': 'The sender did not encrypt this message: the servers that carried it could read it.',
    'signature-valid': 'The signature is valid: the message was not changed after it was signed.',
    'signature-absent': 'The message is not signed: nothing proves who wrote or sealed it.',
    'signature-partial': 'Only part of the message is signed: the text between "[signed text begins]" and "[signed text ends]" (the sender\'s BEGIN PGP SIGNED MESSAGE and END PGP SIGNATURE lines). Anyone could have added the text around it: treat the message as unsigned.',
    'signature-unknown-key': 'The message is signed with a key you do not know: nothing proves who wrote or sealed it.',
    'signature-invalid': 'The signature is not valid: the message was changed on the way, or it is forged. Do not trust it.',
    'signature-weak': 'The signature is valid, but made with an old algorithm (SHA-1, DSA or a short RSA key) that can no longer fully prove who signed.',
    'signature-expired-key': 'The message is signed with a key that had expired: nothing current proves who wrote it.',
    'signature-revoked-key': 'The message is signed with a key its owner revoked: nothing current proves who wrote it.',
    'signature-unsupported': 'The message is signed with an algorithm Caliop cannot check: nothing proves who wrote it.',
    'sender-key-verified': 'You checked the sender\'s key in person.',
    'sender-key-tofu': 'The sender\'s key was trusted the first time it was seen, not checked in person. Compare fingerprints to be sure.',
    'sender-key-unknown': 'The key that signed this message is not in your contacts.',
    'sender-key-changed': 'The sender\'s key has changed: someone may be pretending to be them. Check the new key with them in person.',
    'from-contact-unproven': 'The From line names {address}, someone you know, but nothing proves this message is from them: it is not signed with their key. Treat it as from a stranger.',
    'from-not-submitter': 'The From line names {address}, but the relay says the account {submittedBy} sent it: someone is pretending to be {address}. Do not trust it.',
    'headers-protected': 'The subject and headers travelled inside the encryption.',
    'headers-unprotected': 'The subject and headers travelled outside the encryption: the servers on the way could read them.',
    'route-unknown': 'Your stick has no record of how this message travelled.',
    'route-internal': 'This message stayed inside Caliop: it went from the stick of {submittedBy} to our relay, then to you.',
    'route-smtp-inbound': 'This message came from outside Caliop, from the server {host} ({ip}): the mail servers on its way saw who wrote to whom, and when.',
    'route-smtp-outbound': 'This message left Caliop for the server {host} ({ip}): the mail servers on its way see who wrote to whom, and when.',
    'arrived-encrypted': 'This message arrived already encrypted with OpenPGP: the servers on its way could not read its body.',
    'arrived-readable': 'This message came from outside Caliop without encryption: the servers on its way could read it.',
    'sent-encrypted': 'This message left Caliop encrypted with OpenPGP: the servers on its way cannot read its body.',
    'sent-readable': 'This message left Caliop without encryption: the servers on its way can read it.',
    'relay-held-plaintext': 'Our relay held this message readable before sealing or sending it: our relay could read it.',
    'submission-tls': 'The sender\'s stick reached our relay over an encrypted connection ({version}).',
    'submission-no-tls': 'The sender\'s stick reached our relay without an encrypted connection: anyone on the network could read this message.',
    'submission-no-tls-sealed': 'The sender\'s stick reached our relay without an encrypted connection: the message was sealed, but the network saw who wrote to whom.',
    'hop-tls': 'The connection from {from} to {by} was encrypted ({version}, {cipher}).',
    'hop-no-tls': 'The connection from {from} to {by} was not encrypted: anyone on the network could read this message.',
    'hop-no-tls-sealed': 'The connection from {from} to {by} was not encrypted: the message was sealed, but the network saw who wrote to whom.',
    'transport-unknown': 'Our relay recorded no connection for this message: we must assume anyone on the network could read it.',
    'transport-unknown-sealed': 'Our relay recorded no connection for this message: it was sealed, but we must assume the network saw who wrote to whom.',
    'tls-outdated': 'A connection on the way used an outdated protocol ({version}).',
    'claimed-hop-tls': 'Before us, {by} says it got the message from {from} over an encrypted connection. We cannot check this.',
    'claimed-hop-no-tls': 'Before us, {by} says it got the message from {from} without encryption. We cannot check this, but the message may have been readable on the network there.',
    'dkim-pass': 'Our relay checked a DKIM signature of {domain}: the message left that domain\'s servers unchanged.',
    'dkim-fail': 'A DKIM signature of {domain} is not valid ({result}): the message was changed on the way, or the signature is forged.',
    'dkim-none': 'The message has no DKIM signature: nothing proves which domain sent it.',
    'dkim-inconclusive': 'The DKIM signature of {domain} could not be checked ({result}).',
    'spf-pass': 'The server that handed over this message may send mail for {domain} (SPF).',
    'spf-fail': 'The server that handed over this message may not send mail for {domain} (SPF: {result}).',
    'spf-none': '{domain} does not say which servers may send its mail (no SPF).',
    'spf-inconclusive': 'The SPF check for {domain} gave no clear answer ({result}).',
    'dmarc-pass': 'The sender\'s address at {domain} is authenticated (DMARC).',
    'dmarc-fail': 'The sender\'s address claims {domain}, but the message fails that domain\'s DMARC check: the sender is probably forged. Do not trust it.',
    'dmarc-none': '{domain} publishes no DMARC policy: the sender\'s address is not authenticated.',
    'dmarc-inconclusive': 'The DMARC check for {domain} gave no clear answer ({result}).',
    'recipient-internal': '{address} uses Caliop: the message stays inside Caliop, sealed end to end.',
    'recipient-external-cert': '{address} is outside Caliop: the message will be encrypted to their key (found in {source}), but outside mail servers will see who writes to whom, and when.',
    'recipient-no-cert': 'No key is known for {address}: the message will leave Caliop readable by our relay and the mail servers on its way.',
    'recipient-tls-guaranteed': 'Our relay will hand the message for {address} over only through encrypted connections.',
    'recipient-tls-not-guaranteed': 'Nothing makes sure the connections to {address}\'s mail server are encrypted: anyone on the network may read the message.',
    'recipient-key-verified': 'You checked the key of {address} in person.',
    'recipient-key-tofu': 'The key of {address} was trusted the first time it was seen, not checked in person.',
    'recipient-key-changed': 'The key of {address} has changed: someone may be pretending to be them. Check the new key with them in person before sending.',
    'send-signed': 'Your stick signs the message: {address} can check that it is from you and unchanged.',
    'send-headers-protected': 'The subject and headers for {address} travel inside the encryption.',
    'send-encrypted-pq': 'It will be encrypted for {address} with post-quantum protection (ML-KEM-768 with X25519): a future quantum computer could not open a copy kept today.',
    'delivered-tls-guaranteed': 'Our relay handed the message for {address} to {server} over an encrypted connection that the domain\'s published policy guarantees.',
    'delivered-tls-opportunistic': 'Our relay handed the message for {address} to {server} over an encrypted connection, but nothing proved it was the right server: an attacker on the network could have read it.',
    'delivered-smarthost': 'Our relay handed the message for {address} to its outgoing mail server {server}: what happened after it is unknown, so anyone on the network may have read it.',
    'delivered-no-tls': 'Our relay handed the message for {address} to {server} without encryption: anyone on the network could read it.',
    'delivered-encrypted': 'The encrypted message for {address} was handed to {server}.',
  },
  fr: {
    'payload-encrypted': 'Le message lui-même est chiffré pour votre clé : seule votre clé USB peut l\'ouvrir.',
    'payload-encrypted-pq': 'Il est chiffré avec une protection post-quantique (ML-KEM-768 et X25519) : un futur ordinateur quantique ne pourrait pas ouvrir une copie gardée aujourd\'hui.',
    'payload-not-encrypted': 'L\'expéditeur n\'a pas chiffré ce message : les serveurs qui l\'ont transporté ont pu le lire.',
    'signature-valid': 'La signature est valide : le message n\'a pas été modifié après sa signature.',
    'signature-absent': 'Le message n\'est pas signé : rien ne prouve qui l\'a écrit ou chiffré.',
    'signature-partial': 'Seule une partie du message est signée : le texte entre « [signed text begins] » et « [signed text ends] » (les lignes BEGIN PGP SIGNED MESSAGE et END PGP SIGNATURE de l\'expéditeur). N\'importe qui a pu ajouter le texte autour : traitez le message comme non signé.',
    'signature-unknown-key': 'Le message est signé avec une clé que vous ne connaissez pas : rien ne prouve qui l\'a écrit ou chiffré.',
    'signature-invalid': 'La signature n\'est pas valide : le message a été modifié en route, ou il est falsifié. Ne vous y fiez pas.',
    'signature-weak': 'La signature est valide, mais faite avec un algorithme ancien (SHA-1, DSA ou une clé RSA courte) qui ne prouve plus pleinement qui l\'a signée.',
    'signature-expired-key': 'Le message est signé avec une clé expirée : rien d\'actuel ne prouve qui l\'a écrit.',
    'signature-revoked-key': 'Le message est signé avec une clé révoquée par son propriétaire : rien d\'actuel ne prouve qui l\'a écrit.',
    'signature-unsupported': 'Le message est signé avec un algorithme que Caliop ne sait pas vérifier : rien ne prouve qui l\'a écrit.',
    'sender-key-verified': 'Vous avez vérifié la clé de l\'expéditeur en personne.',
    'sender-key-tofu': 'La clé de l\'expéditeur a été acceptée la première fois qu\'elle a été vue, sans vérification en personne. Comparez les empreintes pour en être sûr.',
    'sender-key-unknown': 'La clé qui a signé ce message n\'est pas dans vos contacts.',
    'sender-key-changed': 'La clé de l\'expéditeur a changé : quelqu\'un se fait peut-être passer pour lui. Vérifiez la nouvelle clé avec lui en personne.',
    'from-contact-unproven': 'La ligne « De » nomme {address}, que vous connaissez, mais rien ne prouve que ce message vient de cette personne : il n\'est pas signé de sa clé. Traitez-le comme venant d\'un inconnu.',
    'from-not-submitter': 'La ligne « De » nomme {address}, mais le relais dit que c\'est le compte {submittedBy} qui l\'a envoyé : quelqu\'un se fait passer pour {address}. Ne vous y fiez pas.',
    'headers-protected': 'Le sujet et les en-têtes ont voyagé à l\'intérieur du chiffrement.',
    'headers-unprotected': 'Le sujet et les en-têtes ont voyagé hors du chiffrement : les serveurs sur le chemin ont pu les lire.',
    'route-unknown': 'Votre clé USB n\'a aucune trace du chemin suivi par ce message.',
    'route-internal': 'Ce message est resté dans Caliop : il est allé de la clé USB de {submittedBy} à notre relais, puis à vous.',
    'route-smtp-inbound': 'Ce message vient de l\'extérieur de Caliop, du serveur {host} ({ip}) : les serveurs de messagerie sur son chemin ont vu qui écrit à qui, et quand.',
    'route-smtp-outbound': 'Ce message est sorti de Caliop vers le serveur {host} ({ip}) : les serveurs de messagerie sur son chemin voient qui écrit à qui, et quand.',
    'arrived-encrypted': 'Ce message est arrivé déjà chiffré avec OpenPGP : les serveurs sur son chemin n\'ont pas pu lire son contenu.',
    'arrived-readable': 'Ce message vient de l\'extérieur de Caliop sans chiffrement : les serveurs sur son chemin ont pu le lire.',
    'sent-encrypted': 'Ce message est sorti de Caliop chiffré avec OpenPGP : les serveurs sur son chemin ne peuvent pas lire son contenu.',
    'sent-readable': 'Ce message est sorti de Caliop sans chiffrement : les serveurs sur son chemin peuvent le lire.',
    'relay-held-plaintext': 'Notre relais a eu ce message en clair avant de le chiffrer ou de l\'envoyer : notre relais a pu le lire.',
    'submission-tls': 'La clé USB de l\'expéditeur a joint notre relais par une connexion chiffrée ({version}).',
    'submission-no-tls': 'La clé USB de l\'expéditeur a joint notre relais sans connexion chiffrée : n\'importe qui sur le réseau a pu lire ce message.',
    'submission-no-tls-sealed': 'La clé USB de l\'expéditeur a joint notre relais sans connexion chiffrée : le message était chiffré, mais le réseau a vu qui écrit à qui.',
    'hop-tls': 'La connexion de {from} vers {by} était chiffrée ({version}, {cipher}).',
    'hop-no-tls': 'La connexion de {from} vers {by} n\'était pas chiffrée : n\'importe qui sur le réseau a pu lire ce message.',
    'hop-no-tls-sealed': 'La connexion de {from} vers {by} n\'était pas chiffrée : le message était chiffré, mais le réseau a vu qui écrit à qui.',
    'transport-unknown': 'Notre relais n\'a noté aucune connexion pour ce message : il faut supposer que n\'importe qui sur le réseau a pu le lire.',
    'transport-unknown-sealed': 'Notre relais n\'a noté aucune connexion pour ce message : il était chiffré, mais il faut supposer que le réseau a vu qui écrit à qui.',
    'tls-outdated': 'Une connexion sur le chemin a utilisé un protocole dépassé ({version}).',
    'claimed-hop-tls': 'Avant nous, {by} dit avoir reçu le message de {from} par une connexion chiffrée. Nous ne pouvons pas le vérifier.',
    'claimed-hop-no-tls': 'Avant nous, {by} dit avoir reçu le message de {from} sans chiffrement. Nous ne pouvons pas le vérifier, mais le message a peut-être été lisible sur le réseau à cet endroit.',
    'dkim-pass': 'Notre relais a vérifié une signature DKIM de {domain} : le message a quitté les serveurs de ce domaine sans modification.',
    'dkim-fail': 'Une signature DKIM de {domain} n\'est pas valide ({result}) : le message a été modifié en route, ou la signature est falsifiée.',
    'dkim-none': 'Le message n\'a pas de signature DKIM : rien ne prouve quel domaine l\'a envoyé.',
    'dkim-inconclusive': 'La signature DKIM de {domain} n\'a pas pu être vérifiée ({result}).',
    'spf-pass': 'Le serveur qui a remis ce message a le droit d\'envoyer le courrier de {domain} (SPF).',
    'spf-fail': 'Le serveur qui a remis ce message n\'a pas le droit d\'envoyer le courrier de {domain} (SPF : {result}).',
    'spf-none': '{domain} ne dit pas quels serveurs peuvent envoyer son courrier (pas de SPF).',
    'spf-inconclusive': 'La vérification SPF de {domain} n\'a pas donné de réponse claire ({result}).',
    'dmarc-pass': 'L\'adresse de l\'expéditeur chez {domain} est authentifiée (DMARC).',
    'dmarc-fail': 'L\'adresse de l\'expéditeur se réclame de {domain}, mais le message échoue à la vérification DMARC de ce domaine : l\'expéditeur est probablement falsifié. Ne vous y fiez pas.',
    'dmarc-none': '{domain} ne publie pas de politique DMARC : l\'adresse de l\'expéditeur n\'est pas authentifiée.',
    'dmarc-inconclusive': 'La vérification DMARC de {domain} n\'a pas donné de réponse claire ({result}).',
    'recipient-internal': '{address} utilise Caliop : le message reste dans Caliop, chiffré de bout en bout.',
    'recipient-external-cert': '{address} est hors de Caliop : le message sera chiffré pour sa clé (trouvée dans {source}), mais les serveurs de messagerie extérieurs verront qui écrit à qui, et quand.',
    'recipient-no-cert': 'Aucune clé n\'est connue pour {address} : le message sortira de Caliop en clair, lisible par notre relais et les serveurs de messagerie sur son chemin.',
    'recipient-tls-guaranteed': 'Notre relais ne remettra le message pour {address} que par des connexions chiffrées.',
    'recipient-tls-not-guaranteed': 'Rien ne garantit que les connexions vers le serveur de {address} seront chiffrées : n\'importe qui sur le réseau pourra lire le message.',
    'recipient-key-verified': 'Vous avez vérifié la clé de {address} en personne.',
    'recipient-key-tofu': 'La clé de {address} a été acceptée la première fois qu\'elle a été vue, sans vérification en personne.',
    'recipient-key-changed': 'La clé de {address} a changé : quelqu\'un se fait peut-être passer pour cette personne. Vérifiez la nouvelle clé avec elle en personne avant d\'envoyer.',
    'send-signed': 'Votre clé USB signe le message : {address} pourra vérifier qu\'il vient de vous, sans modification.',
    'send-headers-protected': 'Le sujet et les en-têtes pour {address} voyagent à l\'intérieur du chiffrement.',
    'send-encrypted-pq': 'Il sera chiffré pour {address} avec une protection post-quantique (ML-KEM-768 et X25519) : un futur ordinateur quantique ne pourrait pas ouvrir une copie gardée aujourd\'hui.',
    'delivered-tls-guaranteed': 'Notre relais a remis le message pour {address} à {server} par une connexion chiffrée que la politique publiée du domaine garantit.',
    'delivered-tls-opportunistic': 'Notre relais a remis le message pour {address} à {server} par une connexion chiffrée, mais rien n\'a prouvé que c\'était le bon serveur : un attaquant sur le réseau a pu le lire.',
    'delivered-smarthost': 'Notre relais a remis le message pour {address} à son serveur d\'envoi {server} : la suite est inconnue, n\'importe qui sur le réseau a donc pu le lire.',
    'delivered-no-tls': 'Notre relais a remis le message pour {address} à {server} sans chiffrement : n\'importe qui sur le réseau pouvait le lire.',
    'delivered-encrypted': 'Le message chiffré pour {address} a été remis à {server}.',
  },
};

/** Parameter values that are words rather than data (hosts, domains, versions are shown as they are). */
export const PARAM_VALUE_TEXTS: Readonly<Record<Language, Readonly<Record<string, Readonly<Record<string, string>>>>>> = {
  en: {
    source: { contacts: 'your contacts', wkd: 'the key directory of their domain', autocrypt: 'an Autocrypt header they sent', 'autocrypt-gossip': 'an Autocrypt-Gossip header, someone else\'s word in a message to you both' },
    version: { unknown: 'unknown version' },
    cipher: { unknown: 'unknown cipher' },
  },
  fr: {
    source: { contacts: 'vos contacts', wkd: 'l\'annuaire de clés de son domaine', autocrypt: 'un en-tête Autocrypt de ses messages', 'autocrypt-gossip': 'un en-tête Autocrypt-Gossip, la parole d\'un tiers dans un message à vous deux' },
    version: { unknown: 'version inconnue' },
    cipher: { unknown: 'chiffrement inconnu' },
  },
};

const PLACEHOLDER = /\{([a-zA-Z]+)\}/g;

/** The {names} a template uses, for the catalogue test. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((match) => match[1] ?? '').sort();
}

/** Fills a reason's template with its params; a missing param shows as "?". */
export function renderReasonText(language: Language, code: ReasonCode, params: Readonly<Record<string, string>> | undefined): string {
  return REASON_TEXTS[language][code].replace(PLACEHOLDER, (_whole, name: string) => {
    const value = params?.[name];
    if (value === undefined) return '?';
    return PARAM_VALUE_TEXTS[language][name]?.[value] ?? value;
  });
}

/** docs/exposure.md §7: who vouches for a reason, in the user's words. */
export const VOUCH_NAMES: Readonly<Record<Language, Readonly<Record<'stick' | 'relay', string>>>> = {
  en: { stick: 'checked by your stick', relay: 'seen by our relay' },
  fr: { stick: 'vérifié par votre clé USB', relay: 'constaté par notre relais' },
};

/**
 * docs/exposure.md §3, §7: the one-line label every face prints ("●○○○ Readable by mail
 * servers"): the symbol, then the name; the ASCII symbol where Unicode cannot be shown.
 */
export function exposureLabel(
  assessment: { readonly symbol: { readonly unicode: string; readonly ascii: string }; readonly name: { readonly en: string; readonly fr: string } },
  language: Language,
  options: { readonly ascii?: boolean } = {},
): string {
  return `${options.ascii ? assessment.symbol.ascii : assessment.symbol.unicode} ${assessment.name[language]}`;
}

/** docs/exposure.md §3: a level's name in a list (the inbox), at most LIST_NAME_WIDTH columns; the full name where it fits. */
export const LIST_LEVEL_NAMES: Readonly<Record<Language, Readonly<Record<ExposureLevel, string>>>> = {
  en: {
    'e2e-verified': LEVEL_NAMES.en['e2e-verified'],
    'e2e-tofu': 'End to end, unverified',
    'pgp-external': LEVEL_NAMES.en['pgp-external'],
    'tls-only': LEVEL_NAMES.en['tls-only'],
    cleartext: LEVEL_NAMES.en.cleartext,
    alarm: LEVEL_NAMES.en.alarm,
  },
  fr: {
    'e2e-verified': 'Bout en bout, vérifiée',
    'e2e-tofu': 'Bout en bout, à vérifier',
    'pgp-external': LEVEL_NAMES.fr['pgp-external'],
    'tls-only': LEVEL_NAMES.fr['tls-only'],
    cleartext: LEVEL_NAMES.fr.cleartext,
    alarm: LEVEL_NAMES.fr.alarm,
  },
};
export const LIST_NAME_WIDTH = 24;

/** docs/exposure.md §3: the label of a line in a list: the symbol and the list name, at most 4 + 1 + LIST_NAME_WIDTH columns. */
export function exposureListLabel(
  assessment: { readonly level: ExposureLevel; readonly symbol: { readonly unicode: string; readonly ascii: string } },
  language: Language,
  options: { readonly ascii?: boolean } = {},
): string {
  return `${options.ascii ? assessment.symbol.ascii : assessment.symbol.unicode} ${LIST_LEVEL_NAMES[language][assessment.level]}`;
}

/** docs/exposure.md §7: one reason as a line for `caliop read` and the reading screen. */
export function reasonLine(reason: { readonly vouchedBy: 'stick' | 'relay'; readonly text: { readonly en: string; readonly fr: string } }, language: Language): string {
  return `${reason.text[language]} (${VOUCH_NAMES[language][reason.vouchedBy]})`;
}
