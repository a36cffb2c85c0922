// Drive discovery's safety rules (docs/flashing-station.md §Safety rules),
// checked against lsblk outputs, one case per file in test/fixtures/lsblk/:
// each file says which drive must be accepted and which refused, and why.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { isShownByStation, listCandidateDrives, parseLsblk, type DriveListOptions } from '../src/flash/drive-list.js';
import { NO_SYSTEM_FACTS, parseMountinfo, systemFactsFrom } from '../src/flash/system-facts.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'lsblk');

interface LsblkCase {
  description: string;
  source: string;
  options: DriveListOptions;
  mountinfo?: string[];
  swaps?: string;
  stationPaths?: string[];
  expect: Record<string, string>;
  lsblk: unknown;
}

const cases = readdirSync(FIXTURES)
  .filter((name) => name.endsWith('.json'))
  .sort()
  .map((name) => ({ name, fixture: JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as LsblkCase }));

describe('lsblk fixtures: which drives are accepted, which refused', () => {
  it('has a fixture for every refusal reason', () => {
    const reasons = new Set(cases.flatMap(({ fixture }) => Object.values(fixture.expect)));
    for (const reason of ['accepted', 'not_a_drive', 'loop_device', 'system_drive', 'mounted_system_volume', 'mounted', 'read_only', 'not_removable', 'no_medium', 'too_small', 'too_large', 'partition_in_use', 'denied_serial', 'not_usb', 'needs_allow']) {
      expect(reasons, reason).toContain(reason);
    }
  });

  for (const { name, fixture } of cases) {
    it(`${name}: ${fixture.description}`, () => {
      const facts = fixture.mountinfo === undefined
        ? NO_SYSTEM_FACTS
        : systemFactsFrom({
            mountinfo: fixture.mountinfo.join('\n') + '\n',
            swaps: fixture.swaps ?? 'Filename\tType\tSize\tUsed\tPriority\n',
            stationPaths: fixture.stationPaths ?? ['/opt/caliop-station/build/src/flash'],
          });
      const drives = listCandidateDrives(fixture.lsblk, facts, fixture.options);
      // Every top-level drive of the fixture has an expected outcome, and only those.
      expect(drives.map((drive) => drive.path).sort()).toEqual(Object.keys(fixture.expect).sort());
      for (const drive of drives) {
        expect(drive.refusal?.reason ?? 'accepted', drive.path).toBe(fixture.expect[drive.path]);
        if (drive.refusal !== undefined) expect(drive.refusal.detail).toContain(drive.path);
      }
    });
  }
});

describe('what lsblk tells about an accepted stick', () => {
  it('keeps vendor, model, serial, size and transport, trimmed', () => {
    const fixture = JSON.parse(readFileSync(join(FIXTURES, 'laptop-with-usb-stick.json'), 'utf8')) as LsblkCase;
    const [stick] = listCandidateDrives(fixture.lsblk, NO_SYSTEM_FACTS, { mode: 'detection' });
    expect(stick).toMatchObject({
      path: '/dev/sdb', vendor: 'SanDisk', model: 'Cruzer Blade', serial: '4C530001230815117293',
      sizeBytes: 15376318464, transport: 'usb', removable: true, hotplug: true, readOnly: false, mountpoints: [],
    });
    expect(stick?.refusal).toBeUndefined();
  });

  it('rejects output that is not lsblk JSON', () => {
    expect(() => parseLsblk('{"devices": []}')).toThrow(/blockdevices/);
    expect(() => parseLsblk('not json')).toThrow();
  });
});

describe('system facts from /proc', () => {
  it('finds the device of the station files by the longest mount point holding them', () => {
    const facts = systemFactsFrom({
      mountinfo: [
        '26 1 259:2 / / rw - ext4 /dev/nvme0n1p2 rw',
        '40 26 8:33 / /media/v/STATION rw - vfat /dev/sdc1 rw',
        '41 26 8:49 / /media/v/STATION2 rw - vfat /dev/sdd1 rw',
      ].join('\n'),
      swaps: 'Filename Type Size Used Priority\n/swapfile file 1024 0 -2\n/dev/sde2 partition 1024 0 -3\n',
      stationPaths: ['/media/v/STATION/caliop'],
    });
    expect(facts.systemDeviceNumbers).toEqual(['259:2', '8:33']);
    // A swap file names no device; a swap partition does.
    expect(facts.systemDevicePaths).toEqual(['/dev/nvme0n1p2', '/dev/sdc1', '/dev/sde2']);
  });

  it('reads escaped spaces in mount points (proc(5) octal escapes)', () => {
    const [row] = parseMountinfo('50 26 8:17 / /media/v/MY\\040STICK rw - vfat /dev/sdb1 rw\n');
    expect(row?.mountpoint).toBe('/media/v/MY STICK');
  });

  it('on this machine: the disk holding / is known as a system drive', async () => {
    const { readSystemFacts } = await import('../src/flash/lsblk.js');
    const facts = await readSystemFacts();
    const root = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).find((row) => row.mountpoint === '/');
    expect(facts.systemDeviceNumbers).toContain(root?.deviceNumber);
  });
});

describe('what the station shows', () => {
  it('never shows system drives, loop devices or CD-ROMs; shows refused USB sticks with their reason', () => {
    const lsblk = JSON.parse(readFileSync(join(FIXTURES, 'this-machine-vm.json'), 'utf8')) as LsblkCase;
    const drives = listCandidateDrives(lsblk.lsblk, systemFactsFrom({ mountinfo: (lsblk.mountinfo ?? []).join('\n'), swaps: '', stationPaths: [] }), { mode: 'detection' });
    expect(drives.filter(isShownByStation)).toEqual([]);
    const automounted = JSON.parse(readFileSync(join(FIXTURES, 'usb-stick-automounted.json'), 'utf8')) as LsblkCase;
    const [stick] = listCandidateDrives(automounted.lsblk, NO_SYSTEM_FACTS, { mode: 'detection' });
    expect(stick !== undefined && isShownByStation(stick)).toBe(true);
  });
});
