// `caliop backup split` and `caliop backup check` (docs/cli.md §backup).
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { note, writeData, writeJson } from '../output.js';

export function registerBackupCommands(program: Command, context: () => CliContext): void {
  const backup = program.command('backup').description('your recovery phrase: split it into shares, check your copy');

  backup
    .command('split')
    .description('split your seed into N shares, any K of which rebuild your key; prints one sheet per share')
    .requiredOption('--shares <n>', 'how many shares to make', (value) => Number.parseInt(value, 10))
    .requiredOption('--threshold <k>', 'how many shares rebuild the key', (value) => Number.parseInt(value, 10))
    .action(async (options: { shares: number; threshold: number }) => {
      const cli = context();
      const session = await cli.unlock();
      const { splitBackup } = await import('../../service/recovery.js');
      const sheets = await splitBackup(session, options.shares, options.threshold);
      if (cli.json) {
        await writeJson({ threshold: options.threshold, shares: sheets.map((sheet) => ({ number: sheet.number, words: sheet.words.join(' '), sheet: sheet.sheet })) });
        return;
      }
      await writeData(sheets.map((sheet) => sheet.sheet).join('\n'));
      note(`print each share on its own sheet and give them to ${options.shares} different people or places; any ${options.threshold} rebuild your key`);
    });

  backup
    .command('check')
    .description('prove you still hold your recovery phrase: type a few words of it')
    .action(async () => {
      const cli = context();
      cli.refuseToPrompt('the backup check');
      const [{ backupCheckPositions, recordBackupCheck }, { ask }] = await Promise.all([import('../../service/recovery.js'), import('../terminal.js')]);
      const session = await cli.unlock();
      const positions = backupCheckPositions();
      const answers: string[] = [];
      for (const position of positions) answers.push(await ask(`Word #${position}: `));
      await recordBackupCheck(session, positions, answers);
      note('your copy of the recovery phrase is right');
    });
}
