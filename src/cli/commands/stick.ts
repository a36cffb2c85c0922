// `caliop stick verify` (docs/cli.md §3.16, docs/manifest.md §5-§8).
import { safeForTerminal } from '../../terminal-text.js';
import type { Command } from 'commander';
import { readUserFile } from '../../service/user-files.js';
import type { CliContext } from '../context.js';
import { note, reportFailure, writeData, writeJson } from '../output.js';

/** docs/manifest.md §8: what each anchor means, in the words the user reads. */
const ANCHOR_LINES = {
  'release-cert-file': (fingerprint: string) => `anchor: the release certificate you gave (${fingerprint})`,
  'compiled-in': (fingerprint: string) => `anchor: the release fingerprint built into this caliop (${fingerprint})`,
  relay: (fingerprint: string) => `anchor: the release fingerprint your relay publishes (${fingerprint})`,
  'stick-only': () => "anchor: NONE outside the stick: only the stick's own certificate (config.json) was used",
} as const;

export function registerStickCommands(program: Command, context: () => CliContext): void {
  const stick = program.command('stick').description('the stick itself');
  stick
    .command('verify')
    .description('check every file of the stick against its signed MANIFEST; names each file that differs, is missing or is extra')
    .option('--release-cert <file>', "the release certificate to trust (default: the fingerprint built into this caliop, checked against the stick's config.json)")
    .option('--relay', "also ask the stick's relay (config.json, over its pinned connection) which release fingerprint it publishes, and compare")
    .action(async (options: { releaseCert?: string; relay?: boolean }) => {
      const cli = context();
      const { checkStick } = await import('../../service/stick-verify.js');
      const located = cli.stick();
      const releaseCertArmored = options.releaseCert === undefined ? undefined : new TextDecoder().decode(await readUserFile(options.releaseCert, 'the release certificate'));
      const verdict = await checkStick(located, {
        ...(releaseCertArmored === undefined ? {} : { releaseCertArmored }),
        ...(options.relay === true ? { relay: 'stick' as const } : {}),
      });
      const relay = verdict.relay;
      if (cli.json) await writeJson(verdict);
      else {
        const lines = [
          ANCHOR_LINES[verdict.anchor](verdict.anchorFingerprint),
          ...(relay === undefined || verdict.anchor === 'relay' ? [] : [`also checked: the release fingerprint your relay publishes (${relay.fingerprint})`]),
          ...(verdict.anchorMatches ? [] : [`release certificate: NOT THE ONE THIS CALIOP TRUSTS (the stick's is ${verdict.releaseFingerprint})`]),
          `signature: ${verdict.signatureValid ? 'valid' : 'NOT VALID'}`,
          ...verdict.differs.map((path) => `differs: ${safeForTerminal(path)}`),
          ...verdict.missing.map((path) => `missing: ${safeForTerminal(path)}`),
          ...verdict.extra.map((path) => `extra:   ${safeForTerminal(path)}`),
        ];
        await writeData(`${lines.join('\n')}\n`);
        if (verdict.ok && verdict.anchor !== 'stick-only') note('every file of the stick is as it was made');
      }
      if (!verdict.anchorMatches) {
        if (relay !== undefined && !relay.matches) note(`the stick is signed for release certificate ${verdict.releaseFingerprint}, not for ${relay.fingerprint} which the relay ${safeForTerminal(relay.url)} publishes`);
        if (verdict.anchor !== 'relay' && verdict.anchorFingerprint !== verdict.releaseFingerprint) note(`the stick is signed for release certificate ${verdict.releaseFingerprint}, not for ${verdict.anchorFingerprint} which this caliop was built to trust`);
        reportFailure('manifest_invalid');
      } else if (!verdict.signatureValid) reportFailure('manifest_invalid');
      else if (!verdict.ok) reportFailure('stick_modified');
      else if (verdict.anchor === 'stick-only') reportFailure('stick_self_verified_only');
    });
}
