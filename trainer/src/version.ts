import { readFileSync } from 'node:fs';

/** The trainer's package version, recorded in every model it writes. */
export const TRAINER_VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
export const GENERATED_BY = `nst-trainer ${TRAINER_VERSION}`;
