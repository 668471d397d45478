/** Alarms (docs/alarms.md): the engine that raises and clears them, the store that keeps them, and their contract. */
export * from './alarm-change.js';
export { AlarmEngine, type AlarmEngineDeps, type AlarmEngineOptions, type AlarmListener } from './alarm-engine.js';
export { AlarmStore, type AlarmChangeSink, type AlarmHistoryQuery } from './alarm-store.js';
export { countOpenAlarms, sortOpenAlarms } from './open-alarms.js';
