// docs/limits.md §3: the reason a message was sealed as over a limit (`message_over_limit`),
// or null when the work went through.
import { expect } from 'vitest';
import { overLimitReasonIn } from '../../src/core/message-limits.js';

export async function overLimitReason(work: Promise<unknown>): Promise<string | null> {
  try {
    await work;
    return null;
  } catch (error) {
    expect(error).toMatchObject({ code: 'message_over_limit' });
    return overLimitReasonIn((error as Error).message);
  }
}
