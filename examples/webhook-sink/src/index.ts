export { webhookSink } from './webhook-sink.js';
export { webhookSinkConfigSchema, type WebhookSinkConfig } from './webhook-sink-config.js';
// `use:` loads the default export (or every plugin the module exports).
export { webhookSink as default } from './webhook-sink.js';
