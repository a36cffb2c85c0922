// `caliop devices [--json]` and `caliop devices revoke NAME` (docs/cli.md §3.18,
// docs/api.md §6.4-§6.5, docs/lost-stick.md).
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { note, writeData, writeJson } from '../output.js';

export function registerDeviceCommands(program: Command, context: () => CliContext): void {
  const devices = program
    .command('devices')
    .description("the sticks of your account on the relay (name, enrolled, last seen); 'devices revoke NAME' removes one")
    .action(async () => {
      const cli = context();
      const session = await cli.unlock();
      const { listDevices } = await import('../../service/devices.js');
      const list = await listDevices(session);
      if (cli.json) {
        await writeJson({ devices: list });
        return;
      }
      const day = (iso: string | null) => (iso === null ? 'never' : `${iso.slice(0, 16).replace('T', ' ')} UTC`);
      const width = Math.max(4, ...list.map((device) => device.name.length));
      const lines = [
        `${'NAME'.padEnd(width)}  ${'ENROLLED'.padEnd(20)}  ${'LAST SEEN'.padEnd(20)}  STATE`,
        ...list.map(
          (device) =>
            `${device.name.padEnd(width)}  ${day(device.enrolledAt).padEnd(20)}  ${day(device.lastSeenAt).padEnd(20)}  ${
              device.revokedAt ? `revoked ${day(device.revokedAt)}` : device.current ? 'this stick' : 'active'
            }`,
        ),
      ];
      await writeData(`${lines.join('\n')}\n`);
    });

  devices
    .command('revoke')
    .description('revoke another stick of your account (a lost one): the relay refuses it from now on')
    .argument('<name>', 'the device name from "caliop devices"')
    .action(async (name: string) => {
      const cli = context();
      const session = await cli.unlock();
      const { revokeDevice } = await import('../../service/devices.js');
      const revoked = await revokeDevice(session, name);
      if (cli.json) await writeJson(revoked);
      else note(`device ${revoked.name} revoked: the relay refuses its requests from now on`);
    });
}
