export * from './decoded-packet';
export * from './anomalies';
export * from './linktypes';
export * from './decoder';
