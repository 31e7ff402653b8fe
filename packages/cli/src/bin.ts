#!/usr/bin/env node
import { main } from './main.js';

const code = await main(process.argv.slice(2));
// Let stdout/stderr drain before exiting; a pending timer or socket must not keep us alive.
process.exitCode = code;
setTimeout(() => process.exit(code), 100).unref();
