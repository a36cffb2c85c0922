#!/usr/bin/env node
// `caliop-sop`: the thin launcher SOP test harnesses call as one program (docs/sop.md §1);
// exactly `caliop sop ARGS…`.
import { runSop } from './sop.js';

process.exitCode = await runSop(process.argv.slice(2));
