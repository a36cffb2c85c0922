// `caliop stick verify` (docs/cli.md §3.16, docs/manifest.md §5-§7).
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { CaliopError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { note, reportFailure, writeData, writeJson } from '../output.js';

export function registerStickCommands(program: Command, context: () => CliContext): void {
  const stick = program.command('stick').description('the stick itself');
  stick
    .command('verify')
    .description('check every file of the stick against its signed MANIFEST; names each file that differs, is missing or is extra')
    .option('--release-cert <file>', 'the release certificate to trust (default: the one in the stick\'s config.json, which only proves the stick is consistent with itself)')
    .action(async (options: { releaseCert?: string }) => {
      const cli = context();
      const [{ verifyStick }, { readStickConfig }] = await Promise.all([import('../../service/stick-verify.js'), import('../../edges/stick-config.js')]);
      const located = cli.stick();
      let releaseCert: string | undefined;
      if (options.releaseCert !== undefined) {
        try {
          releaseCert = await readFile(options.releaseCert, 'utf8');
        } catch (error) {
          throw new CaliopError('file_unreadable', `could not read the release certificate ${options.releaseCert}`, { cause: error });
        }
      } else {
        releaseCert = readStickConfig(located).releaseCert;
        if (!releaseCert) throw new CaliopError('manifest_invalid', "the stick's config.json names no release certificate", { hint: 'pass --release-cert FILE' });
      }
      const verdict = await verifyStick(located.root, releaseCert);
      if (cli.json) await writeJson(verdict);
      else {
        const lines = [
          `signature: ${verdict.signatureValid ? 'valid' : 'NOT VALID'}`,
          ...verdict.differs.map((path) => `differs: ${path}`),
          ...verdict.missing.map((path) => `missing: ${path}`),
          ...verdict.extra.map((path) => `extra:   ${path}`),
        ];
        await writeData(`${lines.join('\n')}\n`);
        if (verdict.ok) note('every file of the stick is as it was made');
      }
      if (!verdict.signatureValid) reportFailure('manifest_invalid');
      else if (!verdict.ok) reportFailure('stick_modified');
    });
}
