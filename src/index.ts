// Library API: re-exports only. The CLI is one client of it.
export * from './source/raw-packet';
export * from './source/capture-error';
export * from './decode/decoded-packet';
export * from './tcp/flow-record';
