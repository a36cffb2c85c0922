// The whole interface: first run (ceremony) or unlock, then the inbox and its
// neighbours. Holds the unlocked session; every screen calls the service layer.
import { useEffect, useState } from 'react';
import { stickHasVault, type Stick } from '../service/stick-lookup.js';
import type { StickSession } from '../service/stick-session.js';
import { releaseSticks } from '../service/stick-hold.js';
import { translator, type UiLanguage } from './i18n/index.js';
import { Box, Text } from 'ink';
import { isNo, isYes } from './keys.js';
import { CeremonyWizard } from './screens/CeremonyWizard.js';
import { ComposeScreen, EMPTY_DRAFT, hasDraft, type Draft } from './screens/ComposeScreen.js';
import { ContactsScreen } from './screens/ContactsScreen.js';
import { INBOX_TOP, InboxScreen, type InboxPlace, type SyncState } from './screens/InboxScreen.js';
import { OutboxScreen } from './screens/OutboxScreen.js';
import { ReadScreen } from './screens/ReadScreen.js';
import { SettingsScreen } from './screens/SettingsScreen.js';
import { StickScreen } from './screens/StickScreen.js';
import { UnlockScreen } from './screens/UnlockScreen.js';
import { TextContext } from './use-text.js';
import { KeyQueue, useKeys } from './key-queue.js';

type View = { kind: 'inbox' } | { kind: 'read'; id: string } | { kind: 'compose' } | { kind: 'contacts' } | { kind: 'outbox' } | { kind: 'stick' } | { kind: 'settings' };

export interface AppProps {
  readonly stick: Stick | null;
  /** Forces the language (tests); otherwise the vault's, once open. */
  readonly language?: UiLanguage;
  /** The language before the vault is open: the stick's default, else the system's (docs/ui.md §7). */
  readonly startLanguage?: UiLanguage;
  readonly onExit: (code: number) => void;
  /** The clock (docs/architecture.md: a parameter): the stick screen's expiry reminder reads it (tests move it years ahead). */
  readonly clock?: () => Date;
}

export function App(props: AppProps) {
  return (
    <KeyQueue>
      <Screens {...props} />
    </KeyQueue>
  );
}

function Screens({ stick, language: chosen, startLanguage, onExit, clock }: AppProps) {
  const [language, setLanguage] = useState<UiLanguage>(chosen ?? startLanguage ?? 'en');
  const [session, setSession] = useState<StickSession | null>(null);
  // docs/store.md §10: the interface holds the stick for its session (taken by its unlock or its
  // ceremony) and lets it go when it ends, before the process does.
  useEffect(() => releaseSticks, []);
  const [view, setView] = useState<View>({ kind: 'inbox' });
  const [sync, setSync] = useState<SyncState>({ kind: 'never' });
  // Back from reading, the inbox is where it was (docs/ui.md §4).
  const [inboxPlace, setInboxPlace] = useState<InboxPlace>(INBOX_TOP);
  const opened = (next: StickSession) => {
    if (chosen === undefined) setLanguage(next.contents.settings.language);
    setSession(next);
  };
  // Quitting asks first (docs/ui.md §6); the screen under the question keeps what was typed.
  const [askingQuit, setAskingQuit] = useState(false);
  const quit = () => setAskingQuit(true);
  useKeys(
    (input, key) => {
      if (isYes(input)) onExit(0);
      else if (isNo(input) || key.escape) setAskingQuit(false);
    },
    { isActive: askingQuit, exclusive: true },
  );
  const [draft, setDraft] = useState<Draft>(EMPTY_DRAFT);
  // Ctrl-C always leaves, through the same door (the alternate screen is closed).
  useKeys((input, key) => {
    if (key.ctrl && input === 'c') onExit(130);
  }, { global: true });
  const inbox = () => setView({ kind: 'inbox' });
  let screen;
  if (!session) {
    screen =
      stick && stickHasVault(stick) ? (
        <UnlockScreen stick={stick} onUnlocked={opened} onQuit={quit} onLanguage={setLanguage} />
      ) : (
        <CeremonyWizard stick={stick} onDone={opened} onQuit={quit} onLanguage={setLanguage} />
      );
  } else {
    switch (view.kind) {
      case 'inbox':
        screen = (
          <InboxScreen
            session={session}
            sync={sync}
            setSync={setSync}
            place={inboxPlace}
            setPlace={setInboxPlace}
            onRead={(id) => setView({ kind: 'read', id })}
            // docs/ui.md §6: Q quits at once, unless a message is being written: then it asks.
            onAction={(action) => (action === 'quit' && !hasDraft(draft) ? onExit(0) : action === 'quit' || action === 'ask-quit' ? quit() : setView({ kind: action }))}
          />
        );
        break;
      case 'read':
        screen = <ReadScreen session={session} id={view.id} onBack={inbox} />;
        break;
      case 'compose':
        screen = <ComposeScreen session={session} draft={draft} setDraft={setDraft} onDone={inbox} />;
        break;
      case 'contacts':
        screen = <ContactsScreen session={session} onBack={inbox} />;
        break;
      case 'outbox':
        screen = <OutboxScreen session={session} onBack={inbox} />;
        break;
      case 'stick':
        screen = <StickScreen session={session} onBack={inbox} {...(clock ? { clock } : {})} />;
        break;
      case 'settings':
        screen = <SettingsScreen session={session} onBack={inbox} onLanguage={setLanguage} />;
        break;
    }
  }
  const t = translator(language);
  return (
    <TextContext.Provider value={{ language, t }}>
      {screen}
      {askingQuit ? (
        <Box flexDirection="column" borderStyle="single" borderColor="yellow" paddingX={1} width={80}>
          <Text>{t('quitAsk')}</Text>
          {hasDraft(draft) ? <Text color="yellow">{t('quitDraftLost')}</Text> : null}
          <Text dimColor>{t('quitKeys')}</Text>
        </Box>
      ) : null}
    </TextContext.Provider>
  );
}
