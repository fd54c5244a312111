export { DeviceHealth, runCheck, type Check, type ScheduledCheck, type OverrideStore } from './runner.js';
export { applyResult, foldResults, decideMode, EMPTY_TRACK, NO_OVERRIDES, type CheckResult, type CheckTrack, type Hysteresis, type Overrides, type OverrideSource, type ModeDecision } from './machine.js';
export { InternetCheck, assessInternet } from './internet.js';
export { PrinterCheck, printerResult } from './printer.js';
export { CameraCheck } from './camera.js';
export { SystemCheck, assessSystem } from './system.js';
export { TemperatureCheck, DiskHealthCheck } from './hardware.js';
export { buildChecks, loadDevices, deviceDeps, type Devices, type DeviceDeps } from './build.js';
export { runDoctor, formatDoctorTable } from './doctor.js';
