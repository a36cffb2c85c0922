// The ceremony's questions as screens: runCeremony asks through a CeremonyDialog and
// waits; the wizard shows the question as a phase and answers when the user has.
import { useRef } from 'react';
import type { CeremonyDialog } from '../../service/ceremony.js';
import type { Phase } from './ceremony-phase.js';

export function useCeremonyDialog(setPhase: (phase: Phase) => void): { dialog: CeremonyDialog; answer: <T>(value: T, next: Phase) => void } {
  const resolver = useRef<((value: never) => void) | null>(null);

  /** The dialog's questions wait on the screen the user answers. */
  function ask<T>(next: Phase): Promise<T> {
    return new Promise<T>((resolve) => {
      resolver.current = resolve as (value: never) => void;
      setPhase(next);
    });
  }
  function answer<T>(value: T, next: Phase): void {
    const resolve = resolver.current as ((value: T) => void) | null;
    resolver.current = null;
    setPhase(next);
    resolve?.(value);
  }

  const dialog: CeremonyDialog = {
    progress: (step) => setPhase({ kind: 'running', step }),
    showRecovery: ({ sheet }) => ask<void>({ kind: 'recovery', sheet }),
    askBackupWords: (positions) => ask<string[]>({ kind: 'check', positions }),
    confirmWeakPassphrase: (assessment) => ask<boolean>({ kind: 'weak', assessment }),
  };
  return { dialog, answer };
}
