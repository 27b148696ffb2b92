import fs from 'fs';
const bytes = fs.readFileSync(process.argv[2]);
const { instance } = await WebAssembly.instantiate(bytes, {});
const c0 = process.cpuUsage(); const t0 = performance.now();
const d = Number(instance.exports.bench(200000n));
const secs = (performance.now() - t0) / 1000; const cu = process.cpuUsage(c0); const cpu = (cu.user + cu.system) / 1e6;
console.log(`deliveries ${d} wall ${secs.toFixed(3)} s cpu ${cpu.toFixed(2)} s -> ${(d/secs).toFixed(0)} /wall s, ${(d/cpu).toFixed(0)} /cpu s; committed ${(200000/cpu).toFixed(0)} /cpu s`);
