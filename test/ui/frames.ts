// Helpers for the frame tests: wait for a frame, type text, press keys.
import type { render } from 'ink-testing-library';

export type Rendered = ReturnType<typeof render>;

// Generous: eight sessions and CI share two cores (load 15-25); a wait ends as soon as the frame shows.
export async function waitForFrame(app: Rendered, pattern: RegExp, timeoutMs = 150_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let previous: string | undefined;
  for (;;) {
    const frame = app.lastFrame() ?? '';
    // The frame that matched is the one returned: it shows the pattern and stayed the same
    // over two polls (a frame about to be replaced, e.g. an old error while the next try
    // runs, is not taken for the new one's result). Keys typed next wait in the KeyQueue
    // for whichever screen takes them, so no pause is needed before typing.
    if (pattern.test(frame) && frame === previous) return frame;
    previous = frame;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; last frame:\n${frame}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function press(app: Rendered, keys: string): Promise<void> {
  app.stdin.write(keys);
  await new Promise((resolve) => setTimeout(resolve, 30));
}

/** Types text one character at a time, as a person would, then Enter when asked. */
export async function type(app: Rendered, text: string, enter = true): Promise<void> {
  for (const character of text) app.stdin.write(character);
  await new Promise((resolve) => setTimeout(resolve, 30));
  if (enter) await press(app, '\r');
}

export const ENTER = '\r';
export const ESC = '\x1b';
export const TAB = '\t';
export const DOWN = '\x1b[B';
