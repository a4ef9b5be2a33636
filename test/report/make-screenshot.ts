import { pathToFileURL } from 'node:url';
import { launchChromium } from '../helpers/chromium';

/**
 * The README's screenshot of an HTML report, in the same headless Chromium
 * the tests use:
 *   node dist/test/report/make-screenshot.js report.html docs/report-nginx-keepalive.png
 * (not a test: npm test runs *.test.js only).
 */
async function main(): Promise<void> {
  const [html, png] = process.argv.slice(2);
  if (!html || !png) throw new Error('usage: make-screenshot REPORT.html OUT.png');
  const b = await launchChromium({ width: 940, height: 1200 });
  try {
    const page = await b.ctx.newPage();
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
    await page.screenshot({ path: png, fullPage: true });
  } finally {
    await b.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`make-screenshot: ${(e as Error).message}\n`);
  process.exit(1);
});
