// bench/readback's body: opens the app with ?bench=1 on the base-shaped model (tests/e2e's
// helpers write and serve it) and prints each row's bytes read back per forward.
import { appUrl, baseShapedModelDir, launch, readyStatus, startServers } from '../tests/e2e/helpers.mjs';

const lengths = process.env.ALBERT_READBACK_N || '8,128,512';
// SwiftShader takes minutes a forward at 512 tokens; the bytes do not depend on the device.
const devices = (process.env.ALBERT_READBACK_DEVICES || 'webgpu,cpu').split(',');
const cleanups = [];
const t = { after: (f) => cleanups.push(f), diagnostic: () => {} };
const mb = (b) => (b / 1e6).toFixed(2);

baseShapedModelDir();
const s = await startServers();
try {
  console.log('device   n      page now (MB)   every map (MB)   ratio');
  for (const webgpu of devices.map((d) => d.trim() === 'webgpu')) {
    const { page } = await launch(t, webgpu ? {} : { webgpu: false });
    await page.goto(appUrl(s.app, { model: s.modelUrl('gen/base-shaped'), bench: '1', n: lengths, runs: '1', warmup: '0' }));
    const status = await readyStatus(page, 600_000);
    const bench = page.getByTestId('bench');
    await page.waitForSelector('[data-testid="bench"]:is([data-state="done"], [data-state="error"])', { timeout: 1_800_000 });
    if ((await bench.getAttribute('data-state')) !== 'done') throw new Error(`?bench=1 failed: ${await bench.textContent()}`);
    const report = JSON.parse(await bench.textContent());
    for (const r of report.rows) {
      const ratio = r.page_all_maps_bytes / r.page_readback_bytes;
      console.log(`${status.backend.padEnd(8)} ${String(r.seq_len).padEnd(6)} ${mb(r.page_readback_bytes).padStart(13)}   ${mb(r.page_all_maps_bytes).padStart(14)}   ${ratio.toFixed(2)}×`);
    }
    for (const f of cleanups.splice(0)) await f();
  }
} finally {
  for (const f of cleanups) await f();
  await s.close();
}
