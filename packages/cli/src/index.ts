export { main, EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_SIGNAL, type CliIo } from './main.js';
export { builtinRegistry } from './registry.js';
export { formatError } from './format-error.js';
export { renderReference } from './reference-docs.js';
