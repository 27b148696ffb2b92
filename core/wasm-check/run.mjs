import fs from 'fs';
const bytes = fs.readFileSync(process.argv[2]);
const { instance } = await WebAssembly.instantiate(bytes, {});
const hex = (v) => BigInt.asUintN(64, v).toString(16).padStart(16, '0');
console.log('pinned', hex(instance.exports.pinned_hash()));
for (const s of [1n, 2n, 3n]) console.log('fuzz', s, hex(instance.exports.fuzz_hash(s)));
