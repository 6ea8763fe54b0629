/**
 * `npm run data:fetch`: downloads the three NASA Exoplanet Archive tables (TAP service, CSV) into NASA_DATA_DIR,
 * with a progress line, writing each atomically (temporary file, then rename).
 * Usage: npm run data:fetch [-- kepler k2 tess] [-- --force]
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { MISSIONS, MISSION_IDS, isMissionId, nasaDownloadUrl, type MissionId } from '../src/ml/data/index.js';

async function download(mission: MissionId, dir: string, force: boolean): Promise<void> {
  const spec = MISSIONS[mission];
  const target = path.join(dir, spec.fileName);
  if (fs.existsSync(target) && !force) {
    process.stdout.write(`${mission}: ${spec.fileName} is already there (use --force to download again)\n`);
    return;
  }
  const url = nasaDownloadUrl(mission);
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`${mission}: the archive answered ${response.status} ${response.statusText}`);
  const temporary = `${target}.${process.pid}.part`;
  const out = fs.createWriteStream(temporary);
  let bytes = 0;
  let lastPrint = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.byteLength;
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      if (Date.now() - lastPrint > 250) {
        lastPrint = Date.now();
        process.stdout.write(`\r${mission}: ${(bytes / 1024 / 1024).toFixed(1)} MB`);
      }
    }
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    const head = fs.readFileSync(temporary, 'utf8').slice(0, 2000);
    if (!head.includes(spec.labelColumn)) throw new Error(`${mission}: the download does not look like the ${spec.nasaTable} table`);
    fs.renameSync(temporary, target);
    process.stdout.write(`\r${mission}: ${(bytes / 1024 / 1024).toFixed(1)} MB → ${path.relative(process.cwd(), target)}\n`);
  } catch (error) {
    out.destroy();
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const requested = args.filter((a) => !a.startsWith('--'));
  const unknown = requested.filter((m) => !isMissionId(m));
  if (unknown.length > 0) throw new Error(`unknown mission ${unknown.join(', ')}; choose from ${MISSION_IDS.join(', ')}`);
  const missions = requested.length > 0 ? (requested as MissionId[]) : [...MISSION_IDS];
  const { nasaDataDir } = loadConfig();
  fs.mkdirSync(nasaDataDir, { recursive: true });
  process.stdout.write(`Downloading ${missions.join(', ')} from the NASA Exoplanet Archive into ${nasaDataDir}\n`);
  for (const mission of missions) await download(mission, nasaDataDir, force);
}

main().catch((error: unknown) => {
  process.stderr.write(`\ndata:fetch failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
