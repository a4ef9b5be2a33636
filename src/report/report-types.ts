/** The report model's types, where earlier code and the tests import them from; they live in model.ts. */
export type * from './model';
export { DEFAULT_THRESHOLDS } from './thresholds';
