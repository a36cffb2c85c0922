// docs/message-payload.md §4.5, docs/ui.md: the reading screen says when the text's charset
// was a guess, below the exposure's reasons, in both languages, within 78 columns; nothing
// is said when it was not.
import { describe, expect, it } from 'vitest';
import type { ExposureAssessment } from '../../src/core/exposure.js';
import type { MessageView } from '../../src/service/mailbox-view.js';
import { translator } from '../../src/ui/i18n/index.js';
import { rowsOf } from '../../src/ui/screens/ReadScreen.js';

const exposure: ExposureAssessment = { level: 'exposed', score: 20, name: { en: 'exposed', fr: 'exposé' }, symbol: '!', reasons: [] } as unknown as ExposureAssessment;

function view(charsetGuess: MessageView['charsetGuess']): MessageView {
  return {
    id: 'm1', direction: 'in', from: 'Old Script <cron@outside.test>', to: ['bob@caliop.test'], subject: 'Rapport', date: '2026-12-01T10:00:00.000Z',
    unread: false, signature: 'unsigned', senderKey: 'unknown', signerFingerprint: null, exposure, sealed: null, delivery: null, fromUnproven: null,
    body: 'Grüße aus Köln: café', attachments: [], protectedHeaders: false, relayFacts: null, charsetGuess,
  };
}

describe('the reading screen and a guessed charset', () => {
  for (const [language, line] of [['en', 'Charset: windows-1252, guessed (the sender declared none, or a wrong one)'], ['fr', 'Jeu de caractères : windows-1252, supposé (l’expéditeur n’en déclare aucun, ou un faux)']] as const) {
    it(`${language}: a line says so; none without a guess`, () => {
      const rows = rowsOf(view('windows-1252'), translator(language), language).map((row) => row.text);
      expect(rows.join('\n')).toContain(line.slice(0, 40));
      expect(rows.join(' ').replace(/\s+/g, ' ')).toContain(line);
      for (const row of rows) expect([...row].length, row).toBeLessThanOrEqual(78);
      const none = rowsOf(view(null), translator(language), language).map((row) => row.text).join('\n');
      expect(none).not.toContain('windows-1252');
    });
  }
});
