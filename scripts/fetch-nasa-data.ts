/**
 * `npm run data:fetch [-- kepler k2 tess] [-- --force]`: downloads newer NASA Exoplanet Archive tables into
 * NASA_DATA_DIR (default data/nasa), where they take precedence over the embedded snapshot. A download much smaller
 * than the table it would replace is refused unless --force.
 * NASA_TAP_URL replaces the archive's TAP sync address (a mirror, or a local server in tests).
 */
import { loadConfig } from '../src/config.js';
import { MISSION_IDS, isMissionId, type MissionId } from '../src/ml/data/index.js';
import { FetchError, fetchNasaTables } from '../src/tools/fetch-nasa.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const requested = args.filter((a) => !a.startsWith('--'));
  const unknown = requested.filter((m) => !isMissionId(m));
  if (unknown.length > 0)
    throw new FetchError(`Unknown mission ${unknown.join(', ')}; choose from ${MISSION_IDS.join(', ')}.`);
  const missions: MissionId[] = requested.length > 0 ? requested.filter(isMissionId) : [...MISSION_IDS];
  const { nasaDataDir } = loadConfig();
  const tapUrl = process.env.NASA_TAP_URL?.trim() || undefined;
  process.stdout.write(`Downloading ${missions.join(', ')} from the NASA Exoplanet Archive into ${nasaDataDir}\n`);
  await fetchNasaTables({ missions, dir: nasaDataDir, force, tapUrl, write: (text) => process.stdout.write(text) });
  process.stdout.write('Done. A running server uses the new tables from its next request on.\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`\ndata:fetch failed: ${error instanceof Error ? error.message : String(error)}\n`);
  if (!(error instanceof FetchError) && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
