/**
 * Load time per NASA mission: read + parse + label (cold, first call) and the best of a few repeats, plus the
 * cached `loadNasaTable` call. Run: node --import tsx bench/data-load.ts  (NASA_DATA_DIR, default the embedded snapshot)
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MISSIONS, MISSION_IDS, loadNasaTable, nasaLabeledTable, parseCsv } from '../src/ml/data/index.js';
import { NASA_DIR } from '../test/fixtures/nasa.js';

const dataDir = NASA_DIR;
const REPEATS = 5;

function time<T>(fn: () => T): [T, number] {
  const start = performance.now();
  const value = fn();
  return [value, performance.now() - start];
}

console.log(`NASA data folder: ${dataDir}`);
console.log('mission  rows   MB    load (cold) ms  parse best ms  parse+label best ms  cached ms');
for (const mission of MISSION_IDS) {
  const file = path.join(dataDir, MISSIONS[mission].fileName);
  if (!existsSync(file)) {
    console.log(`${mission.padEnd(8)} skipped: ${file} not found (run npm run data:fetch or set NASA_DATA_DIR)`);
    continue;
  }
  let start = performance.now();
  const lt = await loadNasaTable(dataDir, mission); // read + parse + label, first time in this process
  const cold = performance.now() - start;
  start = performance.now();
  await loadNasaTable(dataDir, mission);
  const cached = performance.now() - start;

  const text = readFileSync(file, 'utf8');
  let parseBest = Infinity;
  let labelBest = Infinity;
  for (let k = 0; k < REPEATS; k++) {
    parseBest = Math.min(parseBest, time(() => parseCsv(text))[1]);
    labelBest = Math.min(labelBest, time(() => nasaLabeledTable(mission, text))[1]);
  }
  const mb = Buffer.byteLength(text) / 1e6;
  console.log(
    `${mission.padEnd(8)} ${String(lt.table.rows.length).padEnd(6)} ${mb.toFixed(1).padEnd(5)} ${cold.toFixed(0).padStart(14)} ${parseBest.toFixed(0).padStart(14)} ${labelBest.toFixed(0).padStart(20)} ${cached.toFixed(2).padStart(10)}`,
  );
}
