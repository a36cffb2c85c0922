// The whole interface: first run (ceremony) or unlock, then the inbox and its
// neighbours. Holds the unlocked session; every screen calls the service layer.
import { useInput } from 'ink';
import { useState } from 'react';
import { existsSync } from 'node:fs';
import type { Stick } from '../edges/stick-locator.js';
import type { StickSession } from '../service/stick-session.js';
import { translator, type UiLanguage } from './i18n/index.js';
import { CeremonyWizard } from './screens/CeremonyWizard.js';
import { ComposeScreen } from './screens/ComposeScreen.js';
import { ContactsScreen } from './screens/ContactsScreen.js';
import { InboxScreen, type SyncState } from './screens/InboxScreen.js';
import { ReadScreen } from './screens/ReadScreen.js';
import { SettingsScreen } from './screens/SettingsScreen.js';
import { StickScreen } from './screens/StickScreen.js';
import { UnlockScreen } from './screens/UnlockScreen.js';
import { TextContext } from './use-text.js';

type View = { kind: 'inbox' } | { kind: 'read'; id: string } | { kind: 'compose' } | { kind: 'contacts' } | { kind: 'stick' } | { kind: 'settings' };

export interface AppProps {
  readonly stick: Stick | null;
  readonly language?: UiLanguage;
  readonly onExit: (code: number) => void;
}

export function App({ stick, language: chosen, onExit }: AppProps) {
  const [language, setLanguage] = useState<UiLanguage>(chosen ?? 'en');
  const [session, setSession] = useState<StickSession | null>(null);
  const [view, setView] = useState<View>({ kind: 'inbox' });
  const [sync, setSync] = useState<SyncState>({ kind: 'never' });
  const opened = (next: StickSession) => {
    if (chosen === undefined) setLanguage(next.contents.settings.language);
    setSession(next);
  };
  const quit = () => onExit(0);
  // Ctrl-C always leaves, through the same door (the alternate screen is closed).
  useInput((input, key) => {
    if (key.ctrl && input === 'c') onExit(130);
  });
  const inbox = () => setView({ kind: 'inbox' });
  let screen;
  if (!session) {
    screen =
      stick && existsSync(stick.vaultPath) ? (
        <UnlockScreen stick={stick} onUnlocked={opened} onQuit={quit} />
      ) : (
        <CeremonyWizard stick={stick} onDone={opened} onQuit={quit} />
      );
  } else {
    switch (view.kind) {
      case 'inbox':
        screen = (
          <InboxScreen
            session={session}
            sync={sync}
            setSync={setSync}
            onRead={(id) => setView({ kind: 'read', id })}
            onAction={(action) => (action === 'quit' ? quit() : setView({ kind: action }))}
          />
        );
        break;
      case 'read':
        screen = <ReadScreen session={session} id={view.id} onBack={inbox} />;
        break;
      case 'compose':
        screen = <ComposeScreen session={session} onDone={inbox} />;
        break;
      case 'contacts':
        screen = <ContactsScreen session={session} onBack={inbox} />;
        break;
      case 'stick':
        screen = <StickScreen session={session} onBack={inbox} />;
        break;
      case 'settings':
        screen = <SettingsScreen session={session} onBack={inbox} onLanguage={setLanguage} />;
        break;
    }
  }
  return <TextContext.Provider value={{ language, t: translator(language) }}>{screen}</TextContext.Provider>;
}
