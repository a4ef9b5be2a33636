export * from './flow-record';
export * from './tcp-engine';
