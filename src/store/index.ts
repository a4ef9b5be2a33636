export * from './flow-store';
export * from './store-error';
export * from './schema';
export * from './migrate';
export * from './capture-writer';
export * from './worker-capture-writer';
export * from './flows-row';
