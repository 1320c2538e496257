/**
 * Builds the console from its sources (console/) into a temp folder with Vite, so the browser
 * tests test the code as it is now, not whatever an earlier `npm run build` left in dist/.
 */
import { build } from 'vite';
import { tempDir } from './temp.js';

export async function buildConsole(): Promise<string> {
  const outDir = tempDir('echonet-console-');
  await build({
    configFile: new URL('../../console/vite.config.ts', import.meta.url).pathname,
    logLevel: 'silent',
    build: { outDir, emptyOutDir: true },
  });
  return outDir;
}
