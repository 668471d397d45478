/** @michi/simulators: simulated fleets that publish michi readings to edge agents. */
export { runFleet, gatewayUrls, SIMULATED_KINDS, type RunFleetOptions, type RunFleetResult, type SimulatedKind } from './run-fleet.js';
export { Fleet, type FleetOptions, type FleetPilot, type FleetVehicle, type SimReading } from './fleet.js';
export { VehicleModel, KIND_PROFILES, type KindProfile, type VehicleKind, type VehicleModelOptions } from './vehicle-model.js';
export { LinkModel, type LinkCellSite, type LinkMeasurement, type LinkModelOptions } from './link-model.js';
export { RouteGeometry, haversineM, bearingDeg, type LonLat, type RoutePoint } from './route-geometry.js';
export { mulberry32, deriveSeed, type Random } from './prng.js';
export { MqttPublisher, type MqttPublisherOptions, type PublishStats, type ReadingPublisher } from './publisher-mqtt.js';
export { SimulatorError, UsageError, SimErrorCodes, type SimErrorCode } from './errors.js';
