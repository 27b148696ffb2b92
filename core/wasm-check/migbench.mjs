// The migration workload in wasm under Node: node migbench.mjs WASM [znodes] [client-api]
// Prints wall-clock and CPU time and the trace hash (compare with the native
// `cargo run --release -p zoolab-core --example migbench` line's hash).
import fs from 'fs';
const bytes = fs.readFileSync(process.argv[2]);
const n = Number(process.argv[3] ?? 100000);
const api = process.argv[4] === 'client-api' ? 1 : 0;
const { instance } = await WebAssembly.instantiate(bytes, {});
const c0 = process.cpuUsage(); const t0 = performance.now();
const h = instance.exports.migbench(n, api);
const secs = (performance.now() - t0) / 1000; const cu = process.cpuUsage(c0); const cpu = (cu.user + cu.system) / 1e6;
const hex = BigInt.asUintN(64, h).toString(16).padStart(16, '0');
console.log(`migbench ${n} znodes via ${api ? 'client-api' : 'snapshot'} in wasm: wall ${secs.toFixed(2)} s (loading included), cpu ${cpu.toFixed(2)} s, trace hash ${hex}${h === 0n ? ' (DID NOT COMMIT)' : ''}`);
