export * from './address-text';
export * from './flow-table';
export * from './originator-guess';
