// For test files only (it registers vitest hooks): test-store.ts is also loaded by the demo
// and the benches, outside vitest.
import { afterEach, beforeEach } from 'vitest';
import type { RelayStore } from '../../../src/relay/store/relay-store.js';
import { openTestStore, TEST_STORE } from './test-store.js';

/** A fresh empty store for each test of the file (opened before it, disposed after): call it at the top level, read the store with the function returned. */
export function freshStorePerTest(kind: 'sqlite' | 'postgres' = TEST_STORE): () => RelayStore {
  let store: (RelayStore & { dispose(): Promise<void> }) | undefined;
  beforeEach(async () => {
    store = await openTestStore(kind);
  });
  afterEach(async () => {
    await store?.dispose();
    store = undefined;
  });
  return () => {
    if (store === undefined) throw new Error('freshStorePerTest: the store exists only inside a test');
    return store;
  };
}
