// Writes, to stdout, an HTML page that embeds the wasm (so it opens from file:// in
// headless Chromium) and prints the same hashes as run.mjs plus the benchmark.
import fs from 'fs';
const b64 = fs.readFileSync(process.argv[2]).toString('base64');
process.stdout.write(`<!doctype html><html><body><pre id="out">pending</pre>
<script type="module">
const bytes = Uint8Array.from(atob("${b64}"), c => c.charCodeAt(0));
const { instance } = await WebAssembly.instantiate(bytes, {});
const hex = (v) => BigInt.asUintN(64, v).toString(16).padStart(16, '0');
const lines = ['pinned ' + hex(instance.exports.pinned_hash())];
for (const s of [1n, 2n, 3n]) lines.push('fuzz ' + s + 'n ' + hex(instance.exports.fuzz_hash(s)));
const t0 = performance.now();
const d = Number(instance.exports.bench(200000n));
const secs = (performance.now() - t0) / 1000;
lines.push('deliveries ' + d + ' wall ' + secs.toFixed(3) + ' s -> ' + (d / secs).toFixed(0) + ' /wall s; committed ' + (200000 / secs).toFixed(0) + ' /wall s');
document.getElementById('out').textContent = lines.join('\\n');
</script></body></html>
`);
