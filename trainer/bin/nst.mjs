#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx, so `npx nst` works right after `npm install`.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// The repository's tsconfig, wherever nst runs from: its paths run nst-video from source.
register({ tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)) });
// `nst ... --help | head` closes the pipe early: the reader has what it wanted, so stop quietly
// rather than crash with an unhandled EPIPE.
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv);
