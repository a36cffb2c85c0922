// The one reader of the keyboard for the whole interface (docs/ui.md §5). Ink hands
// a chunk of input to every listener at once, before React has drawn the effect of
// its first key: "name⇥address" would all land in the name field, ten Backspaces in
// one chunk would be one unknown key. Here every key waits its turn: a key is given
// to the handlers on screen, then the next one only once React has drawn (and the
// screens have re-subscribed) the result of the last — so focus changes, new
// screens and typed text stay in the order they were typed.
import { useStdin } from 'ink';
import { createContext, useContext, useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { isPrintable, splitKeys, type Key, type KeyPress } from './keys.js';

export type KeyHandler = (input: string, key: Key) => void;

interface Listener {
  handler: KeyHandler;
  active: boolean;
  /** Takes a run of printable keys as one string (a text field): a paste costs one render, not one per letter. */
  text: boolean;
  /** Sees every key but does not take it (Ctrl-C for the whole interface). */
  global: boolean;
  /** While active, the only (non-global) listener: a question over a screen ("Quit?"). */
  exclusive: boolean;
}

type Registry = Set<{ current: Listener }>;

interface KeyQueueValue {
  readonly registry: Registry;
  /** A listener has just become active: keys waiting for it go now. */
  readonly resume: () => void;
}

const KeyQueueContext = createContext<KeyQueueValue | null>(null);

export function KeyQueue({ children }: { children: ReactNode }) {
  const { internal_eventEmitter: events, setRawMode } = useStdin();
  const [registry] = useState<Registry>(() => new Set());
  const queue = useRef<KeyPress[]>([]);
  /** A key was handed out and React has not yet committed what it did. */
  const waiting = useRef(false);
  const [delivered, setDelivered] = useState(0);

  const pump = useRef(() => {});
  pump.current = () => {
    if (waiting.current) return;
    let listeners = [...registry].map((entry) => entry.current).filter((listener) => listener.active);
    if (listeners.some((listener) => listener.exclusive)) listeners = listeners.filter((listener) => listener.exclusive || listener.global);
    // Typed ahead while the screen is busy (unlocking, sending): the keys wait for
    // the next screen that takes keys, as a terminal's own type-ahead does.
    if (!listeners.some((listener) => !listener.global)) {
      // Ctrl-C still leaves at once.
      const interrupt = queue.current.findIndex((press) => press.key.ctrl && press.input === 'c');
      if (interrupt >= 0) {
        const [press] = queue.current.splice(interrupt, 1);
        for (const listener of listeners) listener.handler(press!.input, press!.key);
      }
      return;
    }
    const first = queue.current.shift();
    if (!first) return;
    let press = first;
    if (isPrintable(first) && listeners.some((listener) => listener.text)) {
      let text = first.input;
      while (queue.current[0] && isPrintable(queue.current[0])) text += queue.current.shift()!.input;
      press = { input: text, key: first.key };
    }
    waiting.current = true;
    try {
      for (const listener of listeners) listener.handler(press.input, press.key);
    } finally {
      setDelivered((count) => count + 1);
    }
  };

  useEffect(() => {
    setRawMode(true);
    const onInput = (chunk: string) => {
      queue.current.push(...splitKeys(chunk));
      pump.current();
    };
    events.on('input', onInput);
    return () => {
      events.removeListener('input', onInput);
      setRawMode(false);
    };
  }, [events, setRawMode]);

  // Runs after the commit of the last key's render, when every screen's own effects
  // (its subscription below) have run: the next key goes to what is now on screen.
  useEffect(() => {
    waiting.current = false;
    if (queue.current.length === 0) return;
    const next = setImmediate(() => pump.current());
    return () => clearImmediate(next);
  }, [delivered]);

  const value = useRef<KeyQueueValue>({ registry, resume: () => setImmediate(() => pump.current()) });
  return <KeyQueueContext.Provider value={value.current}>{children}</KeyQueueContext.Provider>;
}

/** Like Ink's `useInput`, but one key at a time, in order, through the KeyQueue. */
export interface KeyOptions {
  readonly isActive?: boolean;
  readonly text?: boolean;
  readonly global?: boolean;
  readonly exclusive?: boolean;
}

export function useKeys(handler: KeyHandler, options: KeyOptions = {}): void {
  const queue = useContext(KeyQueueContext);
  if (!queue) throw new Error('useKeys needs a <KeyQueue> above it');
  const { registry, resume } = queue;
  const active = options.isActive ?? true;
  const describe = (): Listener => ({ handler, active, text: options.text ?? false, global: options.global ?? false, exclusive: options.exclusive ?? false });
  const listener = useRef<Listener>(describe());
  useLayoutEffect(() => {
    listener.current = describe();
  });
  useLayoutEffect(() => {
    registry.add(listener);
    return () => {
      registry.delete(listener);
    };
  }, [registry]);
  useLayoutEffect(() => {
    if (active && !(options.global ?? false)) resume();
  }, [active, resume, options.global]);
}
