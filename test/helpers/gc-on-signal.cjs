// Loaded into an agent under test with `node --expose-gc --require`: on SIGUSR2 a full garbage collection, then the
// memory figures (process.memoryUsage()) into <tmpdir>/gc-<pid>.json, so a memory test reads what is still held,
// not what the collector has not yet come to.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

process.on('SIGUSR2', () => {
  global.gc();
  const file = path.join(os.tmpdir(), `gc-${process.pid}.json`);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(process.memoryUsage()));
  fs.renameSync(`${file}.tmp`, file);
});
