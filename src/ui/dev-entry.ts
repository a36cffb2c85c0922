// Runs the interface by itself until src/cli/main.ts calls runInteractive:
// node build/src/ui/dev-entry.js [--stick DIR] [--language en|fr]
import { stickForInterface } from '../service/stick-lookup.js';
import { runInteractive } from './main.js';

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

const folder = option('--stick');
const language = option('--language');
const stick = stickForInterface({ flag: folder, env: undefined });
process.exitCode = await runInteractive({ stick, ...(language === 'en' || language === 'fr' ? { language } : {}) });
