export { ContractViolation, type ContractCheck } from './contract-check.js';
export { sinkContract, sinkContractChecks, SINK_DURABILITY_CONTRACT, type SinkContractOptions } from './sink-contract.js';
export { sourceContract, sourceContractChecks, SOURCE_RESUME_CONTRACT, SOURCE_STOP_CONTRACT, type SourceContractOptions } from './source-contract.js';
export { operatorContract, operatorContractChecks, RECEIPT_CONTRACT, IMMUTABLE_CONTRACT, RX_CONTRACT, type OperatorContractOptions } from './operator-contract.js';
export { SCHEMA_CONTRACT, ERROR_CODE_CONTRACT, CLOSE_CONTRACT } from './contract-check.js';
