export * from './build-report';
export * from './report-types';
export * from './render-text';
export * from './render-rows';
export * from './idle-fingerprint';
export * from './format-time';
