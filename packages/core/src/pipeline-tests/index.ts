export { runPipelineTests, type PipelineTestResult, type PipelineTestOptions } from './pipeline-test-runner.js';
export { pipelineTestSchema, eventConditionSchema, type PipelineTest, type EventCondition } from './pipeline-test-schema.js';
