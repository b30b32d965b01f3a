import { execSync } from 'node:child_process';
import cp from 'child_process';
execSync('true'); cp.spawnSync('true');
