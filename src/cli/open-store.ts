import { FlowStore } from '../store/flow-store';
import { StoreError } from '../store/store-error';
import { CliError } from './cli-error';

/** Open the database read-only for query/report/flows; store problems become one-line CLI errors. */
export function openStoreForReading(dbPath: string): FlowStore {
  try {
    return FlowStore.open(dbPath, { readonly: true });
  } catch (err) {
    if (err instanceof StoreError) throw new CliError(err.message, err.code === 'missing' ? 1 : 2);
    throw err;
  }
}

/** Open (creating/migrating) the database for ingest. */
export function openStoreForWriting(dbPath: string): FlowStore {
  try {
    return FlowStore.open(dbPath);
  } catch (err) {
    if (err instanceof StoreError) throw new CliError(err.message, 2);
    throw err;
  }
}
