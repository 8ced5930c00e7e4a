export * from './domain';
export * from './errors';
export * from './permissions';
export * from './stop-status';
export * from './mutations';
export * from './sync';
export * from './api';
export * from './bridge';
