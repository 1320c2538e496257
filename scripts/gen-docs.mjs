// Regenerates .env.example and the README's configuration table from src/config.ts (built first).
import { readFileSync, writeFileSync } from 'node:fs';
import { configTable, envExample } from '../dist/config.js';

writeFileSync(new URL('../.env.example', import.meta.url), envExample());
const readmeUrl = new URL('../README.md', import.meta.url);
const readme = readFileSync(readmeUrl, 'utf8');
const start = '<!-- config-table:start -->\n';
const end = '\n<!-- config-table:end -->';
const from = readme.indexOf(start);
const to = readme.indexOf(end);
if (from < 0 || to < 0) throw new Error('README.md lacks the config-table markers');
writeFileSync(readmeUrl, readme.slice(0, from + start.length) + configTable() + readme.slice(to));
