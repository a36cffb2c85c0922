// Your sticks and the lost stick (docs/lost-stick.md, docs/api.md §6.4-§6.5): the
// devices of the account as the relay knows them, revoking a lost one (with a
// question first), and the steps to replace a lost stick.
import { Box, Text } from 'ink';
import { Sentence } from '../components/Sentence.js';
import { useEffect, useState } from 'react';
import { listDevices, revokeDevice, type DeviceView } from '../../service/devices.js';
import type { StickSession } from '../../service/stick-session.js';
import { safeForTerminal } from '../../terminal-text.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { Progress } from '../components/Progress.js';
import { Screen } from '../components/Screen.js';
import { isNo, isYes } from '../keys.js';
import { useText } from '../use-text.js';
import { useKeys } from '../key-queue.js';

type Mode = { kind: 'list' } | { kind: 'busy' } | { kind: 'revoke'; name: string };

const minute = (iso: string | null) => (iso === null ? '—' : iso.slice(0, 16).replace('T', ' '));

export function DevicesScreen({ session, onBack }: { session: StickSession; onBack: () => void }) {
  const { t } = useText();
  const [devices, setDevices] = useState<DeviceView[] | null>(null);
  const [selected, setSelected] = useState(0);
  const [mode, setMode] = useState<Mode>({ kind: 'busy' });
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const reload = () => {
    setMode({ kind: 'busy' });
    listDevices(session).then(
      (list) => {
        setDevices(list);
        setMode({ kind: 'list' });
      },
      (failure: unknown) => {
        setError(failure);
        setMode({ kind: 'list' });
      },
    );
  };
  useEffect(reload, [session]);

  const current = devices?.[selected];
  useKeys((input, key) => {
    if (mode.kind === 'revoke') {
      if (isYes(input)) {
        setMode({ kind: 'busy' });
        setError(null);
        revokeDevice(session, mode.name).then(
          (revoked) => {
            setNotice(t('devicesRevoked', { name: revoked.name }));
            reload();
          },
          (failure: unknown) => {
            setError(failure);
            setMode({ kind: 'list' });
          },
        );
      } else if (isNo(input) || key.escape) setMode({ kind: 'list' });
      return;
    }
    if (mode.kind !== 'list') return;
    if (key.escape) onBack();
    else if (key.upArrow) setSelected((index) => Math.max(0, index - 1));
    else if (key.downArrow) setSelected((index) => Math.min(Math.max(0, (devices?.length ?? 1) - 1), index + 1));
    else if (/^x$/i.test(input) && current && !current.current && current.revokedAt === null) {
      setNotice(null);
      setMode({ kind: 'revoke', name: current.name });
    }
  });

  return (
    <Screen title={t('devicesTitle')} keys={mode.kind === 'revoke' ? t('devicesRevokeKeys') : t('devicesKeys')}>
      {devices ? (
        <Box flexDirection="column">
          {devices.map((device, index) => (
            <Text key={device.name} inverse={index === selected} color={device.revokedAt ? 'gray' : undefined}>
              {index === selected ? '› ' : '  '}
              {safeForTerminal(device.name).padEnd(12)} {t('devicesEnrolled')} {device.enrolledAt.slice(0, 10)} · {t('devicesLastSeen')} {minute(device.lastSeenAt)} ·{' '}
              {device.revokedAt ? t('devicesStateRevoked', { date: device.revokedAt.slice(0, 10) }) : device.current ? t('devicesStateThis') : t('devicesStateActive')}
            </Text>
          ))}
        </Box>
      ) : null}
      {mode.kind === 'revoke' ? <Text color="red">{t('devicesRevokeAsk', { name: safeForTerminal(mode.name) })}</Text> : null}
      {mode.kind === 'busy' ? <Progress label={t('working')} /> : null}
      {notice ? <Text color="green">{notice}</Text> : null}
      {error ? <ErrorNotice error={error} /> : null}
      <Box flexDirection="column" marginTop={1}>
        <Sentence bold text={t('lostTitle')} />
        <Sentence text={`1. ${t('lostStep1')}`} />
        <Sentence text={`2. ${t('lostStep2')}`} />
        <Sentence text={`3. ${t('lostStep3')}`} />
        <Sentence dimColor text={t('lostStep4')} />
      </Box>
    </Screen>
  );
}
