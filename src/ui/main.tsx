// Starts the full-screen interface on the terminal. The whole UI lives in the
// alternate screen buffer, so nothing it showed (recovery words, messages) stays
// in the scrollback once it exits.
import { render } from 'ink';
import type { Stick } from '../service/stick-lookup.js';
import { interfaceStartLanguage } from '../service/interface-language.js';
import { App } from './App.js';
import type { UiLanguage } from './i18n/index.js';

const ENTER_ALTERNATE_SCREEN = '\x1b[?1049h\x1b[H';
const LEAVE_ALTERNATE_SCREEN = '\x1b[?1049l';

export async function runInteractive(options: { stick: Stick | null; language?: UiLanguage }): Promise<number> {
  const stdout = process.stdout;
  stdout.write(ENTER_ALTERNATE_SCREEN);
  let exitCode = 0;
  try {
    const instance = render(
      <App
        stick={options.stick}
        {...(options.language ? { language: options.language } : {})}
        startLanguage={interfaceStartLanguage(options.stick)}
        onExit={(code) => {
          exitCode = code;
          instance.unmount();
        }}
      />,
      { exitOnCtrlC: false },
    );
    await instance.waitUntilExit();
    instance.cleanup();
  } finally {
    stdout.write('\x1b[2J');
    stdout.write(LEAVE_ALTERNATE_SCREEN);
  }
  return exitCode;
}
