export { caFiles, provisionCa, issueClientCert, DEFAULT_SERVER_NAMES, type CaFiles, type ProvisionCaResult } from './ca.js';
export { generatePassword, mosquittoPasswordLine, upsertPasswordFile, writeLogins, type BrokerLogin } from './password.js';
export { provisionPoint, BOX_PATHS, type ProvisionPointOptions, type ProvisionedPoint } from './point.js';
export { provisionCaCommand, provisionPointCommand } from './cli.js';
