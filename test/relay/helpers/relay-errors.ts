// What a refused request to the relay looks like to a test: the relay's error code
// behind the client's CaliopError, and a promise turned into its error (or undefined).
import type { CaliopError } from '../../../src/errors.js';
import { RelayErrorResponse } from '../../../src/edges/relay-client.js';

/** The relay's code (docs/api.md §4.2) of a request the client reported as failed. */
export const relayCode = (error: unknown) => ((error as CaliopError).cause instanceof RelayErrorResponse ? ((error as CaliopError).cause as RelayErrorResponse).code : undefined);

/** The error a promise ends in, or undefined when it succeeds. */
export const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);
