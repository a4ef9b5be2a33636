export * from './raw-packet';
export * from './capture-error';
export * from './capture-info';
export { readCapture } from './read-capture';
