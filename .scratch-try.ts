import { runModuleFunction, checkThisPc } from '/work/main/agent/host/powershell-bridge';
(async () => {
  let t = Date.now();
  const r = await runModuleFunction('Test-DicomGatewayPrerequisite', { Port: 104, DataPath: "C:\\Données d'hôpital ‘x’" });
  console.log(Date.now() - t, 'ms', r.length, r[0]);
  t = Date.now();
  const all = await checkThisPc({ port: 4104, dataPath: '/tmp/x' });
  console.log(Date.now() - t, 'ms', all.available, all.results.map(x => `${x.Name}=${x.Status}`).join(' '));
  try { await runModuleFunction('Test-DicomGatewayPrerequisite', { Port: 0 }); } catch (e) { console.log('ERR', (e as Error).message); }
  try { await runModuleFunction('Get-DicomGatewayNope'); } catch (e) { console.log('ERR', (e as Error).message); }
})();
