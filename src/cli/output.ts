// How the CLI writes: data on stdout only; messages on stderr as `caliop: …`
// (docs/cli.md §Output). Binary data never goes to a terminal.
import { CaliopError, ERROR_TABLE } from '../errors.js';

export function writeData(data: Uint8Array | string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    process.stdout.write(data, (error) => (error ? reject(error) : resolvePromise()));
  });
}

export function writeJson(value: unknown): Promise<void> {
  return writeData(`${JSON.stringify(value, null, 2)}\n`);
}

/** age-style refusal: binary to a terminal would garble it (docs/cli.md §Output). */
export function refuseBinaryToTerminal(isBinary: boolean): void {
  if (isBinary && process.stdout.isTTY) throw new CaliopError('binary_to_terminal');
}

export function looksBinary(data: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return true;
  }
  return data.includes(0);
}

export function note(message: string): void {
  process.stderr.write(`caliop: ${message}\n`);
}

export async function readAllStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * For a failure that still produced output (a bad signature after decrypting):
 * print the error table's lines and set the exit code, without throwing.
 */
export function reportFailure(code: import('../errors.js').ErrorCode): void {
  const spec = ERROR_TABLE[code];
  process.stderr.write(`caliop: error: ${spec.message}\ncaliop: hint: ${spec.hint}\n`);
  process.exitCode = spec.exit;
}
