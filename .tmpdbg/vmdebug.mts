import { startVictoria } from '../test/helpers/victoria.ts';
const vm = await startVictoria();
const t0 = Date.now() - 60000;
const w = async (from: number, n: number) => {
  const body = Array.from({length:n},(_, i)=>`m,device=d n=${from+i} ${t0+from+i}`).join('\n');
  const r = await fetch(`${vm.url}/api/v2/write?org=o&bucket=b&precision=ms`, {method:'POST', body});
  return r.status;
};
console.log(await w(0, 100));
await vm.stop();
await vm.start();
console.log(await w(100, 100));
for (let i=0;i<10;i++){ const s = await vm.exportSeries('{__name__="m_n"}'); console.log(i, s.map(x=>x.values.length)); if (s[0]?.values.length===200) break; await new Promise(r=>setTimeout(r,1000)); }
await vm.dispose();
