// Helpers for the frame tests: wait for a frame, type text, press keys.
import type { render } from 'ink-testing-library';

export type Rendered = ReturnType<typeof render>;

// Generous: eight sessions and CI share two cores (load 15-25); a wait ends as soon as the frame shows.
export async function waitForFrame(app: Rendered, pattern: RegExp, timeoutMs = 150_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const frame = app.lastFrame() ?? '';
    if (pattern.test(frame)) {
      // A screen that has just appeared subscribes to keys right after it is drawn;
      // a person never types within that moment, so the test does not either.
      await new Promise((resolve) => setTimeout(resolve, 150));
      return app.lastFrame() ?? frame;
    }
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
