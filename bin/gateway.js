#!/usr/bin/env node
// Development entry point: runs the TypeScript CLI through tsx. The packaged executable bundles agent/cli.ts instead.
require('tsx/cjs');
require('../agent/cli.ts').runCli(process.argv.slice(2));
