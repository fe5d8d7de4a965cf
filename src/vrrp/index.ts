export * from './types.js';
export * from './addr.js';
export * from './codec.js';
export * from './timing.js';
export * from './fsm.js';
export * from './sync.js';
