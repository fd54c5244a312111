import { commitBench } from './dist/bench/backbone.js';
import { printTable } from './dist/bench/report.js';
console.log(printTable(await commitBench()));
